package dataunlock

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Growing the data partition to the end of the card at the first boot.
//
// The image (images/build-image.sh) has an MBR: partitions 1-3 primary,
// 4 the extended partition, 5-7 logical partitions in it, each behind its
// extended boot record (EBR); 7, the data partition, is the last one. An
// image written to a larger card leaves the rest of the card unused. At
// the first boot, before the blank data partition is formatted, Grow moves
// the end of the extended partition and of the last logical partition to
// the end of the disk — two 4-byte size fields (and their CHS ends) — and
// tells the kernel the new size (partx -u, BLKPG). Nothing else of the
// table or of any partition's contents is written. The image's root has
// no sfdisk, growpart or parted; partx is in util-linux, which every
// Debian root has.

const sectorSize = 512

// Growth says what Grow did.
type Growth struct {
	Disk             string // the whole disk, e.g. /dev/mmcblk0
	Partition        int    // its number, e.g. 7
	OldEnd, NewEnd   uint64 // the partition's last sector before and after
	Grown            bool   // the table was changed
	KernelNotUpdated error  // partx -u failed: the kernel still has the old size until the next boot
}

// GrowPartition grows the partition device dev (e.g. /dev/mmcblk0p7, a
// logical partition of an MBR disk, the last one on the disk) to the end
// of its disk, and tells the kernel. Already at the end, it changes
// nothing. It refuses (changing nothing) anything else: a GPT or primary
// partition, one that is not the last, a disk that is smaller than the
// table, sectors other than 512 bytes.
func GrowPartition(ctx context.Context, dev string) (Growth, error) {
	disk, num, err := diskOf(dev)
	if err != nil {
		return Growth{}, err
	}
	g, err := GrowDisk(disk, num)
	if err != nil || !g.Grown {
		return g, err
	}
	out, err := exec.CommandContext(ctx, "partx", "-u", "--nr", strconv.Itoa(num), disk).CombinedOutput()
	if err != nil {
		g.KernelNotUpdated = fmt.Errorf("partx -u --nr %d %s: %w: %s", num, disk, err, strings.TrimSpace(string(out)))
	}
	return g, nil
}

// diskOf finds the disk and the partition number of a partition device
// through sysfs.
func diskOf(dev string) (string, int, error) {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return "", 0, fmt.Errorf("dataunlock: grow: %w", err)
	}
	name := filepath.Base(real)
	b, err := os.ReadFile(filepath.Join("/sys/class/block", name, "partition"))
	if err != nil {
		return "", 0, fmt.Errorf("dataunlock: grow: %s is not a partition of a disk: %w", dev, err)
	}
	num, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return "", 0, fmt.Errorf("dataunlock: grow: %s: partition number %q", dev, b)
	}
	sys, err := filepath.EvalSymlinks(filepath.Join("/sys/class/block", name))
	if err != nil {
		return "", 0, fmt.Errorf("dataunlock: grow: %w", err)
	}
	disk := filepath.Base(filepath.Dir(sys))
	if lbs, err := os.ReadFile(filepath.Join("/sys/class/block", disk, "queue", "logical_block_size")); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(lbs))); n != sectorSize {
			return "", 0, fmt.Errorf("dataunlock: grow: /dev/%s has %d-byte sectors; only %d is supported", disk, n, sectorSize)
		}
	}
	return "/dev/" + disk, num, nil
}

// mbrEntry is one 16-byte partition entry.
type mbrEntry struct {
	kind  byte
	start uint32 // LBA, relative as the table it is in defines
	size  uint32
}

func entryAt(sec []byte, i int) mbrEntry {
	e := sec[446+16*i:]
	return mbrEntry{kind: e[4], start: binary.LittleEndian.Uint32(e[8:]), size: binary.LittleEndian.Uint32(e[12:])}
}

// setEnd sets entry i's size so that it ends at last (an absolute sector;
// base is the absolute sector its start is relative to), and its CHS end
// as a tool that knows nothing of the disk's geometry writes it.
func setEnd(sec []byte, i int, base, last uint64) {
	e := sec[446+16*i:]
	start := base + uint64(binary.LittleEndian.Uint32(e[8:]))
	binary.LittleEndian.PutUint32(e[12:], uint32(last-start+1))
	copy(e[5:8], chs(last))
}

// chs is the CHS address of an LBA in the 255-head, 63-sector geometry,
// saturated at cylinder 1023 as every partitioner writes it beyond 8 GB.
func chs(lba uint64) []byte {
	const heads, sectors = 255, 63
	c := lba / (heads * sectors)
	h := (lba / sectors) % heads
	s := lba%sectors + 1
	if c > 1023 {
		c, h, s = 1023, 254, 63
	}
	return []byte{byte(h), byte(s) | byte((c>>2)&0xC0), byte(c)}
}

func isExtended(kind byte) bool { return kind == 0x05 || kind == 0x0F || kind == 0x85 }

// GrowDisk grows logical partition num of the MBR disk (a device or an
// image file) to the end of the disk. See GrowPartition.
func GrowDisk(disk string, num int) (Growth, error) {
	g := Growth{Disk: disk, Partition: num}
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		return g, fmt.Errorf("dataunlock: grow: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return g, fmt.Errorf("dataunlock: grow: size of %s: %w", disk, err)
	}
	total := uint64(size) / sectorSize
	// An MBR addresses 2^32 sectors (2 TiB); a larger card keeps the rest.
	total = min(total, 1<<32)
	read := func(lba uint64) ([]byte, error) {
		sec := make([]byte, sectorSize)
		if _, err := f.ReadAt(sec, int64(lba*sectorSize)); err != nil {
			return nil, fmt.Errorf("dataunlock: grow: read sector %d of %s: %w", lba, disk, err)
		}
		if sec[510] != 0x55 || sec[511] != 0xAA {
			return nil, fmt.Errorf("dataunlock: grow: sector %d of %s is not an MBR or EBR", lba, disk)
		}
		return sec, nil
	}
	mbr, err := read(0)
	if err != nil {
		return g, err
	}
	ext := -1
	var maxPrimaryEnd uint64
	for i := range 4 {
		e := entryAt(mbr, i)
		switch {
		case e.kind == 0xEE:
			return g, fmt.Errorf("dataunlock: grow: %s has a GPT; only the image's MBR layout is grown", disk)
		case isExtended(e.kind):
			if ext >= 0 {
				return g, fmt.Errorf("dataunlock: grow: %s has two extended partitions", disk)
			}
			ext = i
		case e.kind != 0:
			maxPrimaryEnd = max(maxPrimaryEnd, uint64(e.start)+uint64(e.size))
		}
	}
	if ext < 0 {
		return g, fmt.Errorf("dataunlock: grow: %s has no extended partition; partition %d is not a logical one", disk, num)
	}
	extE := entryAt(mbr, ext)
	extStart, extEnd := uint64(extE.start), uint64(extE.start)+uint64(extE.size)-1
	if maxPrimaryEnd > extStart {
		return g, fmt.Errorf("dataunlock: grow: %s has a primary partition after the extended one", disk)
	}
	// Walk the EBR chain to the last logical partition, which must be num.
	ebr := extStart
	var ebrSec []byte
	n := 5
	for ; ; n++ {
		if n > 64 {
			return g, fmt.Errorf("dataunlock: grow: %s: the chain of logical partitions does not end", disk)
		}
		sec, err := read(ebr)
		if err != nil {
			return g, err
		}
		link := entryAt(sec, 1)
		if link.kind == 0 {
			ebrSec = sec
			break
		}
		if !isExtended(link.kind) || extStart+uint64(link.start) <= ebr || extStart+uint64(link.start) > extEnd {
			return g, fmt.Errorf("dataunlock: grow: %s: the EBR of partition %d points to sector %d, not on", disk, n, extStart+uint64(link.start))
		}
		ebr = extStart + uint64(link.start)
	}
	if n != num {
		return g, fmt.Errorf("dataunlock: grow: partition %d is not the last one of %s (%d is)", num, disk, n)
	}
	part := entryAt(ebrSec, 0)
	start := ebr + uint64(part.start)
	if part.kind == 0 || part.size == 0 {
		return g, fmt.Errorf("dataunlock: grow: %s: partition %d is empty", disk, num)
	}
	g.OldEnd = start + uint64(part.size) - 1
	if g.OldEnd > extEnd || extEnd > total-1 {
		return g, fmt.Errorf("dataunlock: grow: %s has %d sectors, fewer than its partition table says (partition %d ends at %d, the extended partition at %d)", disk, total, num, g.OldEnd, extEnd)
	}
	g.NewEnd = total - 1
	if g.OldEnd == g.NewEnd {
		return g, nil // already at the end: nothing to do
	}
	// Outside in: the extended partition, then the logical partition. A
	// container larger than what it holds is valid, so the table is valid
	// after each write. The link to the last EBR keeps its size, as sfdisk
	// leaves it: only its start is read.
	if extEnd != g.NewEnd {
		setEnd(mbr, ext, 0, g.NewEnd)
		if _, err := f.WriteAt(mbr, 0); err != nil {
			return g, fmt.Errorf("dataunlock: grow: write the MBR: %w", err)
		}
	}
	setEnd(ebrSec, 0, ebr, g.NewEnd)
	if _, err := f.WriteAt(ebrSec, int64(ebr*sectorSize)); err != nil {
		return g, fmt.Errorf("dataunlock: grow: write the EBR of partition %d: %w", num, err)
	}
	if err := f.Sync(); err != nil {
		return g, fmt.Errorf("dataunlock: grow: sync %s: %w", disk, err)
	}
	g.Grown = true
	return g, nil
}
