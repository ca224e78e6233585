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
	f, err := os.Open(path)
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
