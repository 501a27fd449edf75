//go:build unix

package artifacts

import (
	"os"
	"syscall"
)

// inode returns the inode number of the file, or 0 if unknown.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
