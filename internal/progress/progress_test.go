package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, "features x", 3)
	p.Step()
	p.Step()
	p.Finish() // interrupted at 2 of 3: the line shows it
	out := b.String()
	if !strings.Contains(out, "features x: 2/3 (66.7%)") || !strings.Contains(out, "img/s ETA") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("progress output %q", out)
	}
	b.Reset()
	p = New(&b, "done", 1)
	p.Step()
	p.Finish()
	if !strings.Contains(b.String(), "done: 1/1 (100.0%)") || strings.Count(b.String(), "\r") != 1 {
		t.Fatalf("final line %q", b.String())
	}
	New(nil, "silent", 5).Step() // a nil writer prints nothing and does not panic
}

func TestLinesWhenNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := New(f, "profile x", 2)
	p.Step()
	p.Step()
	p.Finish()
	b, _ := os.ReadFile(f.Name())
	if strings.Contains(string(b), "\r") || strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), "2/2") {
		t.Fatalf("log output %q: want one whole line, no carriage returns", b)
	}
}
