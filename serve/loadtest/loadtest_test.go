package loadtest

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestGeneratedImagesAreSeeded(t *testing.T) {
	a, src, err := LoadImages("", 5, 7)
	if err != nil || len(a) != 64 || !strings.Contains(src, "seed 7") {
		t.Fatalf("%d images from %q: %v", len(a), src, err)
	}
	b, _, _ := LoadImages("", 5, 7)
	c, _, _ := LoadImages("", 5, 8)
	if !bytes.Equal(a[3], b[3]) || bytes.Equal(a[3], c[3]) {
		t.Error("the same seed drew other images, or another seed the same")
	}
	if _, _, err := LoadImages(t.TempDir(), 5, 1); err == nil {
		t.Error("an empty folder gave images")
	}
}

func TestSummarise(t *testing.T) {
	st := ModeStats{Done: 4, Seconds: 2, CPUSeconds: 1}
	for _, ms := range []int{4, 1, 3, 2} {
		st.latencies = append(st.latencies, time.Duration(ms)*time.Millisecond)
	}
	st.summarise()
	if st.Throughput != 2 || st.CPUPerReq != 250 || st.P50MS != 2 || st.P95MS != 4 || st.MeanMS != 2.5 {
		t.Errorf("%+v", st)
	}
	var b bytes.Buffer
	Report{HTTP: st, InProcess: st, Ratio: 1, Stopped: "test"}.Print(&b)
	if !strings.Contains(b.String(), "| HTTP over loopback | 4 |") || !strings.Contains(b.String(), "stopped early: test") {
		t.Errorf("report:\n%s", b.String())
	}
}
