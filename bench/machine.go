package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the figures come from.
type machine struct {
	Cores  int    `json:"cores"`
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
	OS     string `json:"os"`
	Kernel string `json:"kernel"`
	// Chromium is the product string of the floor's browser;
	// ChromiumRenderhook that of the server's (the same binary).
	Chromium           string `json:"chromium"`
	ChromiumRenderhook string `json:"chromiumRenderhook"`
	Go                 string `json:"go"`
	Commit             string `json:"commit,omitempty"`
	// Dirty means the work tree had uncommitted changes.
	Dirty bool `json:"dirty"`
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute load
	// averages before and after the run: other work on the machine makes
	// the figures noisy, whatever the interleaving.
	LoadStart [3]float64 `json:"loadStart"`
	LoadEnd   [3]float64 `json:"loadEnd"`
}

func machineInfo(ctx context.Context, floorChromium, rhChromium string) machine {
	m := machine{
		Cores:              runtime.NumCPU(),
		CPU:                cpuModel(),
		Memory:             memTotal(),
		OS:                 runtime.GOOS + "/" + runtime.GOARCH,
		Chromium:           floorChromium,
		ChromiumRenderhook: rhChromium,
		Go:                 runtime.Version(),
	}
	m.LoadEnd = loadAvg()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if out, err := exec.CommandContext(ctx, "git", "status", "--porcelain").Output(); err == nil {
			m.Dirty = len(strings.TrimSpace(string(out))) > 0
		}
	}
	return m
}

// loadAvg returns the 1, 5 and 15 minute load averages, or zeros.
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	for i, f := range strings.Fields(string(b)) {
		if i == len(l) {
			break
		}
		l[i], _ = strconv.ParseFloat(f, 64)
	}
	return l
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	v := procField("/proc/cpuinfo", "model name")
	if v == "" {
		return "unknown"
	}
	return v
}

// memTotal is MemTotal of /proc/meminfo, in GB.
func memTotal() string {
	v := procField("/proc/meminfo", "MemTotal")
	kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GB", kb/1024/1024)
}

// procField returns the value of the first "key: value" line with key.
func procField(path, key string) string {
	f, err := os.Open(path) //nolint:gosec // path is one of the /proc files named by the callers
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// machineCPU is /proc/stat's count of all cores' time, in clock ticks.
type machineCPU struct{ busy, idle, steal uint64 }

// readMachineCPU reads the machine's CPU time; zero where /proc/stat is
// missing (not Linux).
func readMachineCPU() machineCPU {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineCPU{}
	}
	var v [8]uint64
	for i := range v {
		v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
	}
	// user nice system idle iowait irq softirq steal
	return machineCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6], idle: v[3] + v[4], steal: v[7]}
}

// machineShare is a window's split of all cores' time, in percent.
type machineShare struct{ busyPct, idlePct, stealPct float64 }

func (m machineCPU) since(m0 machineCPU) machineShare {
	busy, idle, steal := m.busy-m0.busy, m.idle-m0.idle, m.steal-m0.steal
	total := float64(busy + idle + steal)
	if total == 0 {
		return machineShare{}
	}
	pct := func(x uint64) float64 { return float64(int(1000*float64(x)/total+0.5)) / 10 }
	return machineShare{busyPct: pct(busy), idlePct: pct(idle), stealPct: pct(steal)}
}

// postgresCPU is the CPU time, user and system, of this machine's
// PostgreSQL processes (those named postgres) that are alive now. Over a
// window in which the server keeps its connections, the difference of two
// readings is what the server spent; 0 when PostgreSQL runs elsewhere.
func postgresCPU() time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks uint64
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		data, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime(14) stime(15)
		open, closeParen := strings.IndexByte(string(data), '('), strings.LastIndexByte(string(data), ')')
		if open < 0 || closeParen < open || string(data[open+1:closeParen]) != "postgres" {
			continue
		}
		f := strings.Fields(string(data[closeParen+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		s, _ := strconv.ParseUint(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}
