package measure

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestCPUModel(t *testing.T) {
	tests := []struct {
		name, cpuinfo, want string
	}{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz\ncpu MHz\t\t: 800.000\n\nprocessor\t: 1\nmodel name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz\n",
			"Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"},
		{"arm64 with model name", "processor\t: 0\nmodel name\t: ARMv8 Processor rev 3 (v8l)\nBogoMIPS\t: 62.50\nCPU implementer\t: 0x41\nCPU part\t: 0xd07\n",
			"ARMv8 Processor rev 3 (v8l)"},
		{"arm32 Raspberry Pi: Hardware", "Processor\t: ARMv7 Processor rev 5 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 38.40\n\nHardware\t: BCM2709\nRevision\t: a01041\n",
			"BCM2709"},
		{"old arm32: Processor only", "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nBogoMIPS\t: 697.95\n",
			"ARMv6-compatible processor rev 7 (v6l)"},
		{"arm64 TX2, parts only", "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd07\n\nprocessor\t: 1\nCPU implementer\t: 0x4e\nCPU part\t: 0x003\n\nprocessor\t: 2\nCPU implementer\t: 0x4e\nCPU part\t: 0x003\n\nprocessor\t: 3\nCPU implementer\t: 0x41\nCPU part\t: 0xd07\n",
			"Cortex-A57 + Denver 2"},
		{"arm64 unknown part", "processor\t: 0\nCPU implementer\t: 0x61\nCPU part\t: 0x022\n",
			"ARM implementer 0x61 part 0x022"},
		{"PowerPC", "processor\t: 0\ncpu\t\t: POWER9, altivec supported\nclock\t\t: 2300.000000MHz\n", "POWER9, altivec supported"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cpuModel(tc.cpuinfo); got != tc.want {
				t.Errorf("cpuModel = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDetectPlatformFakeRoot(t *testing.T) {
	t.Run("Jetson TX2", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, root, "/proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd07\n")
		writeFile(t, root, "/proc/device-tree/model", "NVIDIA Jetson TX2 Developer Kit\x00")
		writeFile(t, root, "/proc/sys/kernel/osrelease", "4.9.140-tegra\n")
		writeFile(t, root, "/proc/sys/kernel/hostname", "tx2\n")
		p := detectPlatform(root)
		if p.CPUModel != "Cortex-A57" || p.Board != "NVIDIA Jetson TX2 Developer Kit" || p.KernelRelease != "4.9.140-tegra" || p.Hostname != "tx2" {
			t.Errorf("platform %+v", p)
		}
	})
	t.Run("device tree only", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, root, "/sys/firmware/devicetree/base/model", "Raspberry Pi 4 Model B Rev 1.4\x00")
		if p := detectPlatform(root); p.CPUModel != "Raspberry Pi 4 Model B Rev 1.4" || p.Board != p.CPUModel {
			t.Errorf("platform %+v", p)
		}
	})
}

func TestDetectPlatformHere(t *testing.T) {
	p := DetectPlatform()
	if p.GOOS != runtime.GOOS || p.GOARCH != runtime.GOARCH || p.GoVersion != runtime.Version() || p.Cores < 1 {
		t.Errorf("platform %+v", p)
	}
	p.Runtime, p.Threads, p.Meter = "onnxruntime 1.30.0", 2, KindNone
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Platform
	if err := json.Unmarshal(b, &back); err != nil || back != p {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
	if s := p.String(); !strings.Contains(s, p.GOOS+"/"+p.GOARCH) || !strings.Contains(s, "onnxruntime 1.30.0") {
		t.Errorf("String() = %q", s)
	}
	t.Logf("%s", p)
}
