package dataunlock_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/images/dataunlock"
)

// The card layout of images/build-image.sh, in MiB, scaled down: 1-3
// primary FAT, 4 extended holding 5-7, each logical partition behind 1 MiB
// for its EBR; 7 (the data partition) last and blank.
const (
	confMiB, bootMiB, slotMiB, dataMiB = 4, 8, 12, 20
	// extraMiB is how much larger the card is than the image.
	extraMiB = 40
)

// cardImage writes the image's partition table (the same sfdisk script as
// build-image.sh) into a file, random bytes into partitions 1-3, 5 and 6,
// and makes the file extraMiB larger than the image, as a larger card.
func cardImage(t *testing.T) string {
	t.Helper()
	p1 := 4
	p2 := p1 + confMiB
	p3 := p2 + bootMiB
	ext := p3 + bootMiB
	p5 := ext + 1
	p6 := ext + 2 + slotMiB
	p7 := ext + 3 + 2*slotMiB
	total := p7 + dataMiB
	img := filepath.Join(t.TempDir(), "card.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, int64(total)<<20); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`label: dos
start=%dMiB, size=%dMiB, type=c, bootable
start=%dMiB, size=%dMiB, type=c
start=%dMiB, size=%dMiB, type=c
start=%dMiB, size=%dMiB, type=5
start=%dMiB, size=%dMiB, type=83
start=%dMiB, size=%dMiB, type=83
start=%dMiB, size=%dMiB, type=83
`, p1, confMiB, p2, bootMiB, p3, bootMiB, ext, total-ext, p5, slotMiB, p6, slotMiB, p7, dataMiB)
	cmd := exec.Command("sfdisk", "--quiet", img)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v: %s", err, out)
	}
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range [][2]int{{p1, confMiB}, {p2, bootMiB}, {p3, bootMiB}, {p5, slotMiB}, {p6, slotMiB}} {
		b := make([]byte, p[1]<<20)
		rand.Read(b)
		if _, err := f.WriteAt(b, int64(p[0])<<20); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(int64(total+extraMiB) << 20); err != nil {
		t.Fatal(err)
	}
	return img
}

type sfPart struct {
	Node  string `json:"node"`
	Start uint64 `json:"start"`
	Size  uint64 `json:"size"`
	Type  string `json:"type"`
	Boot  bool   `json:"bootable"`
}

// table reads the partition table with sfdisk --json, by number.
func table(t *testing.T, img string) map[int]sfPart {
	t.Helper()
	out, err := exec.Command("sfdisk", "--json", img).Output()
	if err != nil {
		t.Fatalf("sfdisk --json: %v", err)
	}
	var v struct {
		PartitionTable struct {
			Partitions []sfPart `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	m := map[int]sfPart{}
	for _, p := range v.PartitionTable.Partitions {
		i := strings.LastIndexFunc(p.Node, func(r rune) bool { return r < '0' || r > '9' })
		n, _ := strconv.Atoi(p.Node[i+1:])
		p.Node = ""
		m[n] = p
	}
	return m
}

// contents hashes the bytes of each partition but the extended one and
// the data partition.
func contents(t *testing.T, img string, tbl map[int]sfPart) map[int][32]byte {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[int][32]byte{}
	for _, n := range []int{1, 2, 3, 5, 6} {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, int64(tbl[n].Start)*512, int64(tbl[n].Size)*512)); err != nil {
			t.Fatal(err)
		}
		m[n] = [32]byte(h.Sum(nil))
	}
	return m
}

func fileSectors(t *testing.T, img string) uint64 {
	t.Helper()
	st, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(st.Size()) / 512
}

// sfdiskGrown is what sfdisk itself makes of the card: the extended and
// the last partition grown to the end ("size=+"); it returns the copy.
func sfdiskGrown(t *testing.T, img string) string {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "ref.img")
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ref, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"4", "7"} {
		cmd := exec.Command("sfdisk", "--quiet", "-N", n, ref)
		cmd.Stdin = strings.NewReader(", +\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sfdisk -N %s: %v: %s", n, err, out)
		}
	}
	return ref
}

// tableSectors are the MBR and the EBRs of the image's layout (each 1 MiB
// before its logical partition).
func tableSectors(t *testing.T, img string, tbl map[int]sfPart) [][]byte {
	t.Helper()
	b := readAll(t, img)
	var out [][]byte
	for _, lba := range []uint64{0, tbl[5].Start - 2048, tbl[6].Start - 2048, tbl[7].Start - 2048} {
		out = append(out, b[lba*512:(lba+1)*512])
	}
	return out
}

// loopDisk attaches img as a loop device with its partitions, as the card
// is /dev/mmcblk0 with /dev/mmcblk0p1-7 (these tests run as root, like
// `make test`).
func loopDisk(t *testing.T, img string) string {
	t.Helper()
	out, err := exec.Command("losetup", "-f", "--show", img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v: %s", err, out)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		exec.Command("partx", "-d", loop).Run()
		if out, err := exec.Command("losetup", "-d", loop).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", loop, err, out)
		}
	})
	if out, err := exec.Command("partx", "-a", loop).CombinedOutput(); err != nil && !strings.Contains(string(out), "busy") {
		t.Fatalf("partx -a %s: %v: %s", loop, err, out)
	}
	if _, err := os.Stat(loop + "p7"); err != nil {
		t.Fatalf("partition 7 of %s: %v", loop, err)
	}
	return loop
}

func sysSectors(t *testing.T, dev string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(dev), "size"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sizingVolume records the size of the partition device when it is
// formatted.
type sizingVolume struct {
	*fileVolume
	formattedSectors uint64
	t                *testing.T
}

func (v *sizingVolume) Format(ctx context.Context, dev, label string, key []byte) error {
	v.formattedSectors = sysSectors(v.t, dev)
	return v.fileVolume.Format(ctx, dev, label, key)
}

// TestFirstBootGrowsDataPartitionToTheCard: an image written to a larger
// card. At the first boot the blank data partition (7, the last) is grown
// to the end of the card before it is encrypted, and the kernel formats the
// full size; partitions 1-6 keep their table entries and every byte; the
// MBR and EBRs are byte for byte what sfdisk itself makes of "grow 4 and
// 7", and pass sfdisk's check. Later boots change nothing.
func TestFirstBootGrowsDataPartitionToTheCard(t *testing.T) {
	ctx := context.Background()
	img := cardImage(t)
	before := table(t, img)
	beforeData := contents(t, img, before)
	ref := sfdiskGrown(t, img)
	want := table(t, ref)
	loop := loopDisk(t, img)
	if got := sysSectors(t, loop+"p7"); got != before[7].Size {
		t.Fatalf("the kernel sees partition 7 with %d sectors before, want %d", got, before[7].Size)
	}

	otp, _ := fakeOTP(t)
	var mkfs []string
	vol := &sizingVolume{fileVolume: &fileVolume{Cryptsetup: fast}, t: t}
	cfg := config(loop+"p7", otp, nil, &mkfs)
	cfg.Volume, cfg.Grow = vol, dataunlock.GrowPartition
	res, err := dataunlock.Unlock(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Grown || !res.Formatted {
		t.Fatalf("first boot: %+v, want grown and formatted", res)
	}

	after := table(t, img)
	end := fileSectors(t, img)
	if p := after[7]; p.Start != before[7].Start || p.Start+p.Size != end {
		t.Errorf("partition 7: start %d size %d, want start %d and its end at the card's end (%d sectors)", p.Start, p.Size, before[7].Start, end)
	}
	if p := after[4]; p.Start != before[4].Start || p.Start+p.Size != end {
		t.Errorf("extended partition 4: start %d size %d, want its end at the card's end", p.Start, p.Size)
	}
	for _, n := range []int{1, 2, 3, 5, 6} {
		if after[n] != before[n] {
			t.Errorf("partition %d's entry changed: %+v -> %+v", n, before[n], after[n])
		}
	}
	if got := contents(t, img, after); got != nil {
		for n, h := range beforeData {
			if got[n] != h {
				t.Errorf("partition %d's bytes changed", n)
			}
		}
	}
	for n, p := range want {
		if after[n] != p {
			t.Errorf("partition %d: %+v, sfdisk makes %+v", n, after[n], p)
		}
	}
	for i, sec := range tableSectors(t, img, after) {
		if !bytes.Equal(sec, tableSectors(t, ref, want)[i]) {
			t.Errorf("table sector %d (MBR, EBR 5, 6, 7) differs from sfdisk's", i)
		}
	}
	if out, err := exec.Command("sfdisk", "--verify", img).CombinedOutput(); err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Errorf("sfdisk --verify: %v\n%s", err, out)
	}
	if got := sysSectors(t, loop+"p7"); got != after[7].Size {
		t.Errorf("the kernel sees partition 7 with %d sectors, want the grown %d", got, after[7].Size)
	}
	if vol.formattedSectors != after[7].Size {
		t.Errorf("formatted at %d sectors, want the grown %d", vol.formattedSectors, after[7].Size)
	}

	// Later boots: the partition is encrypted and is opened, not grown
	// (nor formatted); growing again finds nothing to do.
	hash := sha256.Sum256(readAll(t, img))
	res, err = dataunlock.Unlock(ctx, cfg)
	if err != nil || res.Grown || res.Formatted {
		t.Fatalf("later boot: %+v, %v; want opened only", res, err)
	}
	g, err := dataunlock.GrowPartition(ctx, loop+"p7")
	if err != nil || g.Grown {
		t.Errorf("growing again: %+v, %v; want nothing to do", g, err)
	}
	if sha256.Sum256(readAll(t, img)) != hash {
		t.Error("a later boot or a second growth changed the card")
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGrowOnlyABlankPartition: a data partition that holds anything is
// neither grown nor formatted: the card is left as it was.
func TestGrowOnlyABlankPartition(t *testing.T) {
	ctx := context.Background()
	img := cardImage(t)
	tbl := table(t, img)
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 4096)
	rand.Read(noise)
	if _, err := f.WriteAt(noise, int64(tbl[7].Start)*512+(256<<10)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	before := readAll(t, img)
	loop := loopDisk(t, img)
	otp, _ := fakeOTP(t)
	var mkfs []string
	grown := 0
	cfg := config(loop+"p7", otp, &fileVolume{Cryptsetup: fast}, &mkfs)
	cfg.Grow = func(ctx context.Context, dev string) (dataunlock.Growth, error) {
		grown++
		return dataunlock.GrowPartition(ctx, dev)
	}
	if _, err := dataunlock.Unlock(ctx, cfg); !errors.Is(err, dataunlock.ErrNotBlank) {
		t.Fatalf("got %v, want ErrNotBlank", err)
	}
	if grown != 0 || !bytes.Equal(before, readAll(t, img)) {
		t.Errorf("a partition holding data was grown (%d) or changed", grown)
	}
}

// TestGrowFailureStillFormats: when growing fails (here: the data
// partition is an image file, no partition of a disk), the failure is
// logged and the partition is formatted at its size — a working station
// over a bigger one.
func TestGrowFailureStillFormats(t *testing.T) {
	otp, _ := fakeOTP(t)
	var mkfs []string
	var logs bytes.Buffer
	cfg := config(partition(t), otp, &fileVolume{Cryptsetup: fast}, &mkfs)
	cfg.Grow = dataunlock.GrowPartition
	cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	res, err := dataunlock.Unlock(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Grown || !res.Formatted {
		t.Errorf("result %+v, want formatted, not grown", res)
	}
	if !strings.Contains(logs.String(), "could not be grown") {
		t.Errorf("the failure to grow was not logged:\n%s", logs.String())
	}
}

// TestGrowDiskRefuses: only the last logical partition is grown, never
// one with a partition after it, and never on a card smaller than its
// table; a refusal writes nothing.
func TestGrowDiskRefuses(t *testing.T) {
	img := cardImage(t)
	before := readAll(t, img)
	if _, err := dataunlock.GrowDisk(img, 6); err == nil || !strings.Contains(err.Error(), "not the last") {
		t.Errorf("growing partition 6: %v, want a refusal", err)
	}
	if _, err := dataunlock.GrowDisk(img, 3); err == nil {
		t.Error("growing primary partition 3 was not refused")
	}
	small := filepath.Join(t.TempDir(), "small.img")
	if err := os.WriteFile(small, before[:len(before)-(extraMiB+4)<<20], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dataunlock.GrowDisk(small, 7); err == nil || !strings.Contains(err.Error(), "fewer than") {
		t.Errorf("a card smaller than its table: %v, want a refusal", err)
	}
	if !bytes.Equal(before, readAll(t, img)) {
		t.Error("a refused growth changed the card")
	}
	// On the file itself (no kernel to tell): grown once, then nothing to do.
	g, err := dataunlock.GrowDisk(img, 7)
	if err != nil || !g.Grown || g.NewEnd != fileSectors(t, img)-1 {
		t.Fatalf("GrowDisk: %+v, %v", g, err)
	}
	if g, err := dataunlock.GrowDisk(img, 7); err != nil || g.Grown {
		t.Errorf("GrowDisk again: %+v, %v; want nothing to do", g, err)
	}
}
