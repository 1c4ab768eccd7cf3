package measure

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Platform describes the machine a cost profile was measured on. Latency and
// energy belong to a device, so this travels beside every cost result.
type Platform struct {
	CPUModel string `json:"cpu_model"`
	// Board is the device-tree model, e.g. "NVIDIA Jetson TX2 Developer
	// Kit"; empty on machines without a device tree.
	Board string `json:"board,omitempty"`
	// Cores is the number of logical CPUs this process may use.
	Cores         int    `json:"cores"`
	GOOS          string `json:"goos"`
	GOARCH        string `json:"goarch"`
	GoVersion     string `json:"go_version"`
	Hostname      string `json:"hostname"`
	KernelRelease string `json:"kernel_release,omitempty"`
	// Runtime, Threads and Meter are filled by the caller, which knows the
	// inference runtime (e.g. "onnxruntime 1.30.0"), its thread count and
	// the energy meter in use.
	Runtime string `json:"runtime,omitempty"`
	Threads int    `json:"threads,omitempty"`
	Meter   string `json:"meter,omitempty"`
}

// DetectPlatform describes this machine from /proc/cpuinfo, the device tree,
// /proc/sys/kernel and the Go runtime. Fields it cannot read stay empty; it
// never fails.
func DetectPlatform() Platform { return detectPlatform("") }

// detectPlatform is DetectPlatform with a root prefix for /proc and /sys.
func detectPlatform(root string) Platform {
	p := Platform{
		Cores:     runtime.NumCPU(),
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		GoVersion: runtime.Version(),
	}
	for _, f := range []string{"/proc/device-tree/model", "/sys/firmware/devicetree/base/model"} {
		if s, err := readText(underRoot(root, f)); err == nil && s != "" {
			p.Board = s
			break
		}
	}
	if b, err := os.ReadFile(underRoot(root, "/proc/cpuinfo")); err == nil {
		p.CPUModel = cpuModel(string(b))
	}
	if p.CPUModel == "" {
		p.CPUModel = p.Board
	}
	p.KernelRelease, _ = readText(underRoot(root, "/proc/sys/kernel/osrelease"))
	if h, err := readText(underRoot(root, "/proc/sys/kernel/hostname")); err == nil && h != "" {
		p.Hostname = h
	} else if h, err := os.Hostname(); err == nil {
		p.Hostname = h
	}
	return p
}

// cpuModel picks the CPU's name out of /proc/cpuinfo text. Architectures
// name it differently: "model name" (x86, some arm64 kernels), "Hardware"
// and "Processor" (32-bit ARM), "cpu model" (MIPS), "cpu" (PowerPC),
// "uarch" (RISC-V). Mainline arm64 kernels print only implementer and part
// numbers, which are decoded as a last resort.
func cpuModel(cpuinfo string) string {
	fields := map[string]string{}
	var parts []string // "implementer/part" per processor, in order
	impl := ""
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, seen := fields[k]; !seen && v != "" {
			fields[k] = v
		}
		switch k {
		case "CPU implementer":
			impl = v
		case "CPU part":
			parts = append(parts, impl+"/"+v)
		}
	}
	for _, k := range []string{"model name", "Hardware", "Processor", "cpu model", "cpu", "uarch"} {
		if v := fields[k]; v != "" {
			return v
		}
	}
	return armCores(parts)
}

// armCores names the distinct ARM cores, e.g. "Cortex-A57 + Denver 2" for
// the TX2, from implementer and part numbers as in Linux's
// arch/arm64/include/asm/cputype.h.
func armCores(parts []string) string {
	known := map[string]string{
		"0x41/0xd03": "Cortex-A53",
		"0x41/0xd04": "Cortex-A35",
		"0x41/0xd05": "Cortex-A55",
		"0x41/0xd07": "Cortex-A57",
		"0x41/0xd08": "Cortex-A72",
		"0x41/0xd09": "Cortex-A73",
		"0x41/0xd0b": "Cortex-A76",
		"0x41/0xd0c": "Neoverse-N1",
		"0x41/0xd41": "Cortex-A78",
		"0x41/0xd42": "Cortex-A78AE",
		"0x4e/0x003": "Denver 2",
		"0x4e/0x004": "Carmel",
	}
	var names []string
	seen := map[string]bool{}
	for _, p := range parts {
		name, ok := known[p]
		if !ok {
			impl, part, _ := strings.Cut(p, "/")
			name = fmt.Sprintf("ARM implementer %s part %s", impl, part)
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return strings.Join(names, " + ")
}

// String is a one-line description for logs and report footers.
func (p Platform) String() string {
	var b strings.Builder
	b.WriteString(p.CPUModel)
	if p.Board != "" && p.Board != p.CPUModel {
		b.WriteString(" on " + p.Board)
	}
	b.WriteString(", " + strconv.Itoa(p.Cores) + " cores, " + p.GOOS + "/" + p.GOARCH)
	if p.KernelRelease != "" {
		b.WriteString(", kernel " + p.KernelRelease)
	}
	b.WriteString(", " + p.GoVersion)
	if p.Runtime != "" {
		b.WriteString(", " + p.Runtime)
	}
	return b.String()
}
