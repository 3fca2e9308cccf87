// Package hosttest runs the kortstation_otp kernel module's own source on
// the build host, against a simulated Raspberry Pi firmware.
//
// What it proves: harness/harness.c includes
// images/kmod/kortstation-otp/kortstation_otp.c unchanged, compiled against
// stand-ins for the kernel headers it uses (harness/shim), and drives its
// init, open, read, write and exit the way the kernel would, with a
// simulated VideoCore firmware behind rpi_firmware_property_list that
// keeps eight OTP rows as the real one does (bits never go from 1 to 0; a
// program that would clear one is refused). So the paths QEMU cannot reach
// are exercised: reading a key and its byte order, programming a blank
// OTP, refusing a second key, an all-zero key and malformed reads and
// writes without touching the firmware, the read-back check (a bit that
// does not take is EIO), and the failures at load (no firmware node,
// driver not ready, a firmware that does not know the private-key tag,
// leaves it unanswered or answers only part of the key, device
// registration failing) with every firmware reference put back. It also
// checks that the module wipes its copies of the key and every mailbox
// message, and talks to the mailbox only under its lock. It runs twice:
// built with -Wall -Wextra -Werror, and with AddressSanitizer and
// UndefinedBehaviorSanitizer.
//
// What it cannot prove: that the real mailbox and firmware behave as the
// simulation does. The kernel's firmware driver and the mailbox are proven
// by images/otp_test.go, which builds the module for the image's Debian
// kernel and loads it on QEMU's raspi3b (whose firmware has no private
// key: the refusal path). Reading and programming a real key, and what the
// real firmware answers to a program, only a Raspberry Pi 4 shows
// (docs/appliance.md, "Encryption at rest"). The simulation answers a
// program with value lengths 40, 4 (QEMU's emulation) and 0, and the
// module must accept each, judging a program by its read-back alone.
package hosttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// scenarios are harness.c's, each named for what it proves; the test
// fails if the harness has one this list lacks, or the other way round.
var scenarios = []string{
	"blank_otp_reads_32_zero_bytes_then_eof",
	"programmed_otp_reads_rows_big_endian",
	"long_read_buffer_gets_the_32_bytes",
	"short_or_offset_read_is_einval",
	"program_blank_otp_set_answered_40",
	"program_blank_otp_set_answered_4",
	"program_blank_otp_set_answered_0",
	"second_key_is_eexist_and_never_programmed",
	"programmed_otp_write_is_eexist_without_program",
	"bad_writes_are_einval_without_program",
	"stuck_bit_is_eio_on_read_back",
	"firmware_refusing_program_is_an_error",
	"program_reported_failed_but_burnt_is_success",
	"partial_program_with_error_is_eio",
	"firmware_without_tag_is_enodev_and_puts_firmware",
	"firmware_leaving_tag_unanswered_is_enodev",
	"firmware_answering_part_of_the_key_is_enodev",
	"no_firmware_node_is_enodev",
	"firmware_driver_not_ready_is_eagain",
	"misc_register_failure_puts_firmware",
	"open_without_cap_sys_admin_is_eperm",
	"copy_from_user_fault_is_efault_without_program",
	"copy_to_user_fault_is_efault",
	"read_wipes_the_key_and_messages",
	"write_wipes_the_keys_and_messages",
}

// cflags are the warnings Kbuild builds the module with, as errors. Kbuild
// disables address-of-packed-member (the module passes its packed
// message's rows, naturally aligned, to the byte-order helpers).
var cflags = []string{
	"-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter",
	"-Wno-address-of-packed-member", "-Werror", "-Ishim",
}

var builds = []struct {
	name  string
	flags []string
}{
	{"plain", []string{"-O2"}},
	{"asan_ubsan", []string{"-O1", "-g", "-fno-omit-frame-pointer",
		"-fsanitize=address,undefined", "-fno-sanitize-recover=all"}},
}

func TestOTPModuleOnSimulatedFirmware(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc: %v (scripts/install-deps.sh build installs it)", err)
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "harness")
			args := append(append(slices.Clone(cflags), b.flags...), "-o", bin, "harness.c")
			cc := exec.Command(gcc, args...)
			cc.Dir = "harness"
			if out, err := cc.CombinedOutput(); err != nil {
				t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			list, err := harness(bin, "list")
			if err != nil {
				t.Fatalf("harness list: %v\n%s", err, list)
			}
			if got := strings.Fields(string(list)); !slices.Equal(got, scenarios) {
				t.Fatalf("harness scenarios\n%s\nwant (hosttest_test.go)\n%s",
					strings.Join(got, "\n"), strings.Join(scenarios, "\n"))
			}
			for _, s := range scenarios {
				t.Run(s, func(t *testing.T) {
					out, err := harness(bin, s)
					if err != nil || !bytes.Contains(out, []byte("PASS "+s+"\n")) {
						t.Fatalf("harness %s: %v\n%s", s, err, out)
					}
				})
			}
		})
	}
}

// harness runs the harness binary. The harness allocates nothing, so leak
// detection is off: LeakSanitizer cannot run where ptrace is denied.
func harness(bin, arg string) ([]byte, error) {
	cmd := exec.Command(bin, arg)
	cmd.Env = append(os.Environ(), "ASAN_OPTIONS=detect_leaks=0", "UBSAN_OPTIONS=print_stacktrace=1")
	return cmd.CombinedOutput()
}
