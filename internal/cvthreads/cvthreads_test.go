package cvthreads

import "testing"

func TestSetGet(t *testing.T) {
	before := Get()
	defer Set(before)
	Set(1)
	if n := Get(); n != 1 {
		t.Errorf("after Set(1), OpenCV runs %d threads", n)
	}
	Set(3)
	if n := Get(); n != 3 {
		t.Errorf("after Set(3), OpenCV runs %d threads", n)
	}
}
