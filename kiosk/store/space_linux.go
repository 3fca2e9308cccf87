package store

import "syscall"

// stRdonly is ST_RDONLY of statfs(2)'s f_flags.
const stRdonly = 0x1

func statSpace(dir string) (Space, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return Space{}, err
	}
	return Space{Free: fs.Bavail * uint64(fs.Bsize), ReadOnly: fs.Flags&stRdonly != 0}, nil
}
