package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProcessCPU returns the user+system CPU time this process has used
// (getrusage RUSAGE_SELF), all threads included.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// userHz is the unit of /proc/stat (USER_HZ, 100 on every Linux port Go
// supports).
const userHz = 100

// MachineBusy returns the CPU time all processes on the machine have used
// (the busy columns of /proc/stat's cpu line: user, nice, system, irq,
// softirq, steal), or false where /proc/stat cannot be read. Together with
// ProcessCPU it tells how much of the machine other processes took during a
// measurement.
func MachineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system [idle iowait] irq softirq steal
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHz, true
}
