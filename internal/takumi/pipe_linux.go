package takumi

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks for a 1 MiB pipe from the helper (Linux's default is 64
// KiB; 1 MiB is what an unprivileged process may ask for), so a frame of
// raw pixels crosses in a few reads rather than dozens. Best effort.
func growPipe(r io.Reader) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	if sc, err := f.SyscallConn(); err == nil {
		_ = sc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
	}
}
