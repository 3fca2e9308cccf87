// SPDX-License-Identifier: GPL-2.0-only
/*
 * harness.c - runs the kortstation_otp module's own source on the build
 * host against a simulated VideoCore firmware (hosttest_test.go builds and
 * runs it; see there for what this proves and what it cannot).
 *
 *   harness list        the scenarios, one a line
 *   harness SCENARIO    runs one; exit 0 and "PASS SCENARIO" when every
 *                       expectation held, else exit 1 with what was
 *                       expected on stderr
 *
 * The simulated firmware holds the 8 OTP rows of the private key and
 * answers the mailbox as Raspberry Pi's does: a read answers the rows with
 * size word 0x80000000|40; a program is refused (error status, which the
 * kernel's driver turns into -EINVAL) unless every new row is the OR of
 * itself and the current one, since OTP bits never go from 1 to 0.
 */
#include "../../kortstation-otp/kortstation_otp.c"

#include <stdarg.h>
#include <stdlib.h>

#define FW_STATUS_REQUEST	0x00000000u
#define FW_STATUS_SUCCESS	0x80000000u
#define FW_STATUS_ERROR		0x80000001u

struct rpi_firmware {
	int unused;
};
struct device_node {
	int unused;
};

static struct rpi_firmware the_fw;
static struct device_node the_node;

/* One record per wipe, user copy and mailbox call, in order. */
enum { EV_WIPE, EV_TO_USER, EV_FROM_USER, EV_MAILBOX };
struct event {
	int kind;
	const void *p;
	size_t n;
};

static struct {
	/* The OTP and how the firmware treats it. */
	u32 rows[KS_OTP_ROWS];
	u32 stuck[KS_OTP_ROWS];	/* bits a program does not set */
	bool unknown_tag;	/* answers 0x80000000, data untouched (QEMU 7.2) */
	bool tag_ignored;	/* answers the buffer, the tag untouched */
	bool refuse_program;	/* answers a program with an error status */
	int burn_then_error;	/* programs this many rows, then answers an error */
	u32 set_answer_len;	/* value length it reports for a program */
	u32 rows_answered;	/* rows a read answers at most (0: all) */

	/* The kernel around the module. */
	bool no_node;
	bool driver_not_ready;
	int misc_register_ret;
	bool not_admin;
	bool fault_to_user;
	bool fault_from_user;

	/* What the module did. */
	int get_calls, set_calls;
	int fw_gets, fw_puts, fw_refs;
	int node_gets, node_puts;
	struct miscdevice *registered;
	int registrations, deregistrations;
	struct event ev[256];
	int nev;
} sim;

static const char *scenario;

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s (harness.c:%d): ", scenario, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define expect(cond, ...) \
	do { \
		if (!(cond)) \
			fail(__LINE__, __VA_ARGS__); \
	} while (0)

#define expect_eq(what, got, want) \
	do { \
		long long g_ = (got), w_ = (want); \
		if (g_ != w_) \
			fail(__LINE__, "%s: want %lld, got %lld", what, w_, g_); \
	} while (0)

static void record(int kind, const void *p, size_t n)
{
	expect(sim.nev < (int)(sizeof(sim.ev) / sizeof(sim.ev[0])),
	       "fewer than %zu recorded events",
	       sizeof(sim.ev) / sizeof(sim.ev[0]));
	sim.ev[sim.nev].kind = kind;
	sim.ev[sim.nev].p = p;
	sim.ev[sim.nev].n = n;
	sim.nev++;
}

/* ---- the kernel's API, as shim.h declares it ---- */

void mutex_lock(struct mutex *m)
{
	expect(!m->held, "mutex_lock on a mutex not held (a second lock deadlocks the kernel)");
	m->held = 1;
}

void mutex_unlock(struct mutex *m)
{
	expect(m->held, "mutex_unlock only of a held mutex");
	m->held = 0;
}

void memzero_explicit(void *s, size_t count)
{
	memset(s, 0, count);
	__asm__ __volatile__("" : : "r"(s) : "memory");
	record(EV_WIPE, s, count);
}

void *memchr_inv(const void *start, int c, size_t bytes)
{
	const u8 *p = start;
	size_t i;

	for (i = 0; i < bytes; i++)
		if (p[i] != (u8)c)
			return (void *)(p + i);
	return NULL;
}

bool capable(int cap)
{
	expect_eq("capability asked for (CAP_SYS_ADMIN)", cap, 21);
	return !sim.not_admin;
}

int nonseekable_open(struct inode *inode, struct file *file)
{
	file->nonseekable = 1;
	return 0;
}

unsigned long copy_to_user(void __user *to, const void *from, unsigned long n)
{
	if (sim.fault_to_user)
		return n;
	memcpy(to, from, n);
	record(EV_TO_USER, from, n);
	return 0;
}

unsigned long copy_from_user(void *to, const void __user *from, unsigned long n)
{
	if (sim.fault_from_user)
		return n;
	memcpy(to, from, n);
	record(EV_FROM_USER, to, n);
	return 0;
}

int misc_register(struct miscdevice *misc)
{
	sim.registrations++;
	if (sim.misc_register_ret)
		return sim.misc_register_ret;
	expect(!sim.registered, "one device registered at a time");
	sim.registered = misc;
	return 0;
}

void misc_deregister(struct miscdevice *misc)
{
	expect(misc == sim.registered, "misc_deregister of the registered device");
	sim.deregistrations++;
	sim.registered = NULL;
}

struct device_node *of_find_compatible_node(struct device_node *from,
					    const char *type,
					    const char *compat)
{
	expect(!from && !type, "a search of the whole device tree by compatible only");
	expect(!strcmp(compat, "raspberrypi,bcm2835-firmware"),
	       "the firmware's compatible \"raspberrypi,bcm2835-firmware\", got \"%s\"",
	       compat);
	if (sim.no_node)
		return NULL;
	sim.node_gets++;
	return &the_node;
}

void of_node_put(struct device_node *node)
{
	expect(node == &the_node, "of_node_put of the node found");
	sim.node_puts++;
}

struct rpi_firmware *rpi_firmware_get(struct device_node *firmware_node)
{
	expect(firmware_node == &the_node, "rpi_firmware_get of the firmware node");
	expect(sim.node_gets > sim.node_puts, "rpi_firmware_get while the node is held");
	if (sim.driver_not_ready)
		return NULL;
	sim.fw_gets++;
	sim.fw_refs++;
	return &the_fw;
}

void rpi_firmware_put(struct rpi_firmware *fw)
{
	expect(fw == &the_fw, "rpi_firmware_put of the firmware got, got %p", (void *)fw);
	expect(sim.fw_refs > 0, "rpi_firmware_put only of a reference held");
	sim.fw_puts++;
	sim.fw_refs--;
}

/*
 * The firmware's side of one property buffer: [size, status, tag, value
 * buffer size, request/response size, value..., end tag].
 */
static void firmware(u32 *buf)
{
	u32 tag = buf[2], *resp = &buf[4], *value = &buf[5];
	u32 start = value[0], count = value[1];
	u32 i;

	buf[1] = FW_STATUS_SUCCESS;
	if (sim.tag_ignored)
		return;
	if (sim.unknown_tag || (tag != KS_OTP_TAG_GET && tag != KS_OTP_TAG_SET)) {
		*resp = FW_STATUS_SUCCESS;	/* size word 0x80000000 */
		return;
	}
	if (start >= KS_OTP_ROWS || count > KS_OTP_ROWS - start ||
	    buf[3] < 8 + 4 * count) {
		buf[1] = FW_STATUS_ERROR;
		return;
	}
	if (tag == KS_OTP_TAG_GET) {
		sim.get_calls++;
		if (sim.rows_answered && count > sim.rows_answered)
			count = sim.rows_answered;
		value[1] = count;
		for (i = 0; i < count; i++)
			value[2 + i] = sim.rows[start + i];
		*resp = 0x80000000u | (8 + 4 * count);
		return;
	}
	sim.set_calls++;
	if (sim.refuse_program) {
		buf[1] = FW_STATUS_ERROR;
		return;
	}
	/* The new value must keep every bit already programmed. */
	for (i = 0; i < count; i++)
		if ((sim.rows[start + i] | value[2 + i]) != value[2 + i]) {
			buf[1] = FW_STATUS_ERROR;
			return;
		}
	for (i = 0; i < count; i++)
		if (!sim.burn_then_error || (int)i < sim.burn_then_error)
			sim.rows[start + i] |= value[2 + i] & ~sim.stuck[start + i];
	if (sim.burn_then_error) {
		/* A timeout or error status after the rows were burnt. */
		buf[1] = FW_STATUS_ERROR;
		return;
	}
	*resp = 0x80000000u | sim.set_answer_len;
}

/* As Linux 6.1's drivers/firmware/raspberrypi.c, the mailbox left out. */
int rpi_firmware_property_list(struct rpi_firmware *fw, void *data,
			       size_t tag_size)
{
	const struct ks_otp_msg *msg = data;
	size_t size = tag_size + 12;
	u32 buf[64];
	int ret = 0;

	expect(fw == &the_fw, "the mailbox used through the firmware got");
	expect(sim.fw_refs > 0, "the mailbox used only while a firmware reference is held");
	expect(ks_lock.held, "the mailbox used only under ks_lock");
	record(EV_MAILBOX, data, tag_size);

	/* The request the module sends, every time: one tag, rows 0-7. */
	expect_eq("tag_size", tag_size, sizeof(struct ks_otp_msg));
	expect(msg->hdr.tag == KS_OTP_TAG_GET || msg->hdr.tag == KS_OTP_TAG_SET,
	       "tag 0x00030081 or 0x00038081, got 0x%08x", msg->hdr.tag);
	expect_eq("value buffer size", msg->hdr.buf_size, 40);
	expect_eq("request/response size word of a request", msg->hdr.req_resp_size, 0);
	expect_eq("start row", msg->start, 0);
	expect_eq("row count", msg->count, 8);

	if (size & 3)
		return -EINVAL;
	expect(size <= sizeof(buf), "a buffer of at most %zu bytes", sizeof(buf));
	buf[0] = size;
	buf[1] = FW_STATUS_REQUEST;
	memcpy(&buf[2], data, tag_size);
	buf[size / 4 - 1] = 0;	/* RPI_FIRMWARE_PROPERTY_END */

	firmware(buf);

	memcpy(data, &buf[2], tag_size);
	if (buf[1] != FW_STATUS_SUCCESS) {
		fprintf(stderr, "<3>raspberrypi-firmware: Request 0x%08x returned status 0x%08x\n",
			buf[2], buf[1]);
		ret = -EINVAL;
	}
	memset(buf, 0, sizeof(buf));
	return ret;
}

/* ---- helpers for the scenarios ---- */

static const u8 key_a[KS_OTP_BYTES] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};
static const u32 rows_a[KS_OTP_ROWS] = {
	0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210,
	0x00112233, 0x44556677, 0x8899aabb, 0xccddeeff,
};
static const u8 key_b[KS_OTP_BYTES] = {
	0xa5, 0x5a, 0xa5, 0x5a, 0x01, 0x02, 0x03, 0x04,
	0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
	0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
};

static void hex(char *out, const void *p, size_t n)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

#define expect_bytes(what, got, want, n) \
	do { \
		char g_[2 * (n) + 1], w_[2 * (n) + 1]; \
		if (memcmp(got, want, n)) { \
			hex(g_, got, n); \
			hex(w_, want, n); \
			fail(__LINE__, "%s: want %s, got %s", what, w_, g_); \
		} \
	} while (0)

static void expect_rows(int line, const char *what, const u32 want[KS_OTP_ROWS])
{
	int i;

	for (i = 0; i < KS_OTP_ROWS; i++)
		if (sim.rows[i] != want[i])
			fail(line, "%s: want row %d 0x%08x, got 0x%08x", what, i,
			     want[i], sim.rows[i]);
}

static const u32 blank_rows[KS_OTP_ROWS];

/* Loads the module; it must come up with its device. */
static void load(void)
{
	expect_eq("module init", shim_module_init(), 0);
	expect(sim.registered == &ks_misc, "the device registered");
	expect_eq("firmware references held after init", sim.fw_refs, 1);
	expect_eq("device-tree node references held after init",
		  sim.node_gets - sim.node_puts, 0);
}

static int open_dev(struct file *f)
{
	static struct inode inode;

	memset(f, 0, sizeof(*f));
	expect(sim.registered, "a registered device to open");
	return sim.registered->fops->open(&inode, f);
}

static ssize_t dev_read(struct file *f, void *buf, size_t len)
{
	return sim.registered->fops->read(f, buf, len, &f->f_pos);
}

static ssize_t dev_write(struct file *f, const void *buf, size_t len)
{
	return sim.registered->fops->write(f, buf, len, &f->f_pos);
}

/* Reads the key through a fresh open, as dataunlock's Secret does. */
static void read_key(u8 key[KS_OTP_BYTES])
{
	struct file f;

	expect_eq("open for reading", open_dev(&f), 0);
	memset(key, 0xee, KS_OTP_BYTES);
	expect_eq("read of 32 bytes at offset 0", dev_read(&f, key, KS_OTP_BYTES),
		  KS_OTP_BYTES);
}

/* Programs a key through a fresh open, as dataunlock's Provision does. */
static ssize_t write_key(const u8 key[KS_OTP_BYTES])
{
	struct file f;

	expect_eq("open for writing", open_dev(&f), 0);
	return dev_write(&f, key, KS_OTP_BYTES);
}

static void unload(void)
{
	shim_module_exit();
	expect_eq("devices deregistered at exit", sim.deregistrations, 1);
	expect(!sim.registered, "no device left after exit");
	expect_eq("firmware references held after exit", sim.fw_refs, 0);
}

/* ---- the scenarios ---- */

static void blank_otp_reads_32_zero_bytes_then_eof(void)
{
	u8 buf[64];
	struct file f;

	load();
	expect(!strcmp(shim_module_license, "GPL"),
	       "licence \"GPL\" (the firmware driver's symbols are GPL-only)");
	expect_eq("device mode", ks_misc.mode, 0600);
	expect_eq("device minor", ks_misc.minor, MISC_DYNAMIC_MINOR);
	expect(!strcmp(ks_misc.name, "kortstation-otp"),
	       "device name kortstation-otp, got %s", ks_misc.name);
	expect_eq("mailbox reads at init (the tag probe)", sim.get_calls, 1);

	expect_eq("open as CAP_SYS_ADMIN", open_dev(&f), 0);
	expect(f.nonseekable, "the device opened non-seekable");
	memset(buf, 0xee, sizeof(buf));
	expect_eq("read of 32 bytes at offset 0", dev_read(&f, buf, 32), 32);
	expect_bytes("key of a blank OTP", buf, (const u8 *)blank_rows, 32);
	expect_eq("offset after the read", f.f_pos, 32);
	expect_eq("second read (EOF)", dev_read(&f, buf, 32), 0);
	expect_eq("offset after EOF", f.f_pos, 32);
	expect_eq("mailbox reads", sim.get_calls, 2);
	expect_eq("mailbox programs", sim.set_calls, 0);
	unload();
}

static void programmed_otp_reads_rows_big_endian(void)
{
	u8 key[KS_OTP_BYTES];

	memcpy(sim.rows, rows_a, sizeof(sim.rows));
	load();
	read_key(key);
	expect_bytes("key read from rows 0x01234567 ...", key, key_a, 32);
	unload();
}

static void long_read_buffer_gets_the_32_bytes(void)
{
	u8 buf[4096];
	struct file f;

	memcpy(sim.rows, rows_a, sizeof(sim.rows));
	load();
	expect_eq("open", open_dev(&f), 0);
	memset(buf, 0xee, sizeof(buf));
	expect_eq("read of 4096 bytes at offset 0", dev_read(&f, buf, sizeof(buf)), 32);
	expect_bytes("key", buf, key_a, 32);
	expect_eq("byte after the key untouched", buf[32], 0xee);
	unload();
}

static void short_or_offset_read_is_einval(void)
{
	u8 buf[64];
	struct file f;
	loff_t pos;

	memcpy(sim.rows, rows_a, sizeof(sim.rows));
	load();
	expect_eq("open", open_dev(&f), 0);
	memset(buf, 0xee, sizeof(buf));
	expect_eq("read of 31 bytes", dev_read(&f, buf, 31), -EINVAL);
	expect_eq("read of 0 bytes", dev_read(&f, buf, 0), -EINVAL);
	expect_eq("read of 1 byte", dev_read(&f, buf, 1), -EINVAL);
	expect_eq("offset after refused reads", f.f_pos, 0);
	for (pos = 1; pos < 32; pos++) {
		f.f_pos = pos;
		expect_eq("read of 32 bytes at an offset in 1..31",
			  dev_read(&f, buf, 32), -EINVAL);
		expect_eq("offset after a refused read", f.f_pos, pos);
	}
	f.f_pos = -1;
	expect_eq("read at offset -1", dev_read(&f, buf, 32), -EINVAL);
	f.f_pos = 33;
	expect_eq("read at offset 33 (EOF)", dev_read(&f, buf, 32), 0);
	expect_bytes("buffer after refused reads (nothing copied)", buf,
		     ((const u8[32]){ [0 ... 31] = 0xee }), 32);
	expect_eq("mailbox reads (the init probe only)", sim.get_calls, 1);
	unload();
}

static void program_blank(u32 set_answer_len)
{
	u8 key[KS_OTP_BYTES];
	struct file f;

	sim.set_answer_len = set_answer_len;
	load();
	expect_eq("open", open_dev(&f), 0);
	expect_eq("write of 32 bytes into a blank OTP", dev_write(&f, key_a, 32), 32);
	expect_eq("offset after the write", f.f_pos, 32);
	expect_rows(__LINE__, "rows after programming key 01234567...", rows_a);
	expect_eq("mailbox programs", sim.set_calls, 1);
	/* init probe, blank check, read-back */
	expect_eq("mailbox reads", sim.get_calls, 3);
	read_key(key);
	expect_bytes("key read after programming", key, key_a, 32);
	unload();
}

static void program_blank_otp_set_answered_40(void)
{
	program_blank(40);
}

/* QEMU's emulated firmware (hw/misc/bcm2835_property.c, since 2024)
 * answers a program with value length 4 and echoes nothing. */
static void program_blank_otp_set_answered_4(void)
{
	program_blank(4);
}

static void program_blank_otp_set_answered_0(void)
{
	program_blank(0);
}

static void second_key_is_eexist_and_never_programmed(void)
{
	u8 key[KS_OTP_BYTES];

	sim.set_answer_len = 40;
	load();
	expect_eq("first key", write_key(key_a), 32);
	expect_eq("mailbox programs after the first key", sim.set_calls, 1);
	expect_eq("second key", write_key(key_b), -EEXIST);
	expect_eq("same key again", write_key(key_a), -EEXIST);
	expect_eq("mailbox programs after refused keys", sim.set_calls, 1);
	expect_rows(__LINE__, "rows after refused keys", rows_a);
	read_key(key);
	expect_bytes("key after refused keys", key, key_a, 32);
	unload();
}

static void programmed_otp_write_is_eexist_without_program(void)
{
	u32 one_bit[KS_OTP_ROWS] = { [7] = 1 };

	/* Even one bit set is a key: an OR onto it would be a third key. */
	memcpy(sim.rows, one_bit, sizeof(sim.rows));
	load();
	expect_eq("write onto a programmed OTP", write_key(key_b), -EEXIST);
	expect_eq("mailbox programs", sim.set_calls, 0);
	expect_rows(__LINE__, "rows unchanged", one_bit);
	unload();
}

static void bad_writes_are_einval_without_program(void)
{
	u8 zero[KS_OTP_BYTES] = { 0 }, big[33];
	struct file f;
	loff_t pos;

	memcpy(big, key_a, 32);
	big[32] = 0x42;
	load();
	expect_eq("open", open_dev(&f), 0);
	expect_eq("all-zero key", dev_write(&f, zero, 32), -EINVAL);
	expect_eq("write of 31 bytes", dev_write(&f, key_a, 31), -EINVAL);
	expect_eq("write of 33 bytes", dev_write(&f, big, 33), -EINVAL);
	expect_eq("write of 0 bytes", dev_write(&f, key_a, 0), -EINVAL);
	for (pos = 1; pos <= 64; pos++) {
		f.f_pos = pos;
		expect_eq("write of 32 bytes at an offset other than 0",
			  dev_write(&f, key_a, 32), -EINVAL);
	}
	f.f_pos = -1;
	expect_eq("write at offset -1", dev_write(&f, key_a, 32), -EINVAL);
	expect_eq("mailbox programs", sim.set_calls, 0);
	expect_eq("mailbox reads (the init probe only)", sim.get_calls, 1);
	expect_rows(__LINE__, "rows after refused writes", blank_rows);
	unload();
}

static void stuck_bit_is_eio_on_read_back(void)
{
	u32 want[KS_OTP_ROWS];

	memcpy(want, rows_a, sizeof(want));
	sim.stuck[3] = 0x00000010;	/* set in 0x76543210 */
	want[3] &= ~sim.stuck[3];
	sim.set_answer_len = 40;
	load();
	expect_eq("write whose bit does not take", write_key(key_a), -EIO);
	expect_eq("mailbox programs", sim.set_calls, 1);
	expect_rows(__LINE__, "rows: the key but the stuck bit", want);
	expect_eq("a retry (the OTP is no longer blank)", write_key(key_a), -EEXIST);
	expect_eq("mailbox programs after the retry", sim.set_calls, 1);
	unload();
}

static void firmware_refusing_program_is_an_error(void)
{
	sim.refuse_program = true;
	load();
	expect_eq("write the firmware refuses (driver's -EINVAL)",
		  write_key(key_a), -EINVAL);
	expect_eq("mailbox programs", sim.set_calls, 1);
	expect_rows(__LINE__, "rows unchanged", blank_rows);
	unload();
}

static void program_reported_failed_but_burnt_is_success(void)
{
	sim.burn_then_error = KS_OTP_ROWS;
	load();
	expect_eq("write burnt but answered with an error", write_key(key_a), 32);
	expect_eq("mailbox programs", sim.set_calls, 1);
	expect_rows(__LINE__, "rows hold the key", rows_a);
	unload();
}

static void partial_program_with_error_is_eio(void)
{
	u32 want[KS_OTP_ROWS] = { 0 };

	memcpy(want, rows_a, 4 * sizeof(u32));
	sim.burn_then_error = 4;
	load();
	expect_eq("write half burnt, answered with an error", write_key(key_a), -EIO);
	expect_rows(__LINE__, "rows: the first half of the key", want);
	expect_eq("a retry (the OTP is no longer blank)", write_key(key_a), -EEXIST);
	expect_eq("mailbox programs after the retry", sim.set_calls, 1);
	unload();
}

static void firmware_without_tag_is_enodev_and_puts_firmware(void)
{
	sim.unknown_tag = true;
	expect_eq("module init", shim_module_init(), -ENODEV);
	expect_eq("devices registered", sim.registrations, 0);
	expect(!sim.registered, "no device registered");
	expect_eq("firmware gets", sim.fw_gets, 1);
	expect_eq("firmware puts", sim.fw_puts, 1);
	expect_eq("device-tree node gets and puts",
		  sim.node_gets - sim.node_puts, 0);
	expect(!ks_fw, "ks_fw cleared after the put");
}

static void firmware_leaving_tag_unanswered_is_enodev(void)
{
	sim.tag_ignored = true;
	expect_eq("module init", shim_module_init(), -ENODEV);
	expect(!sim.registered, "no device registered");
	expect_eq("firmware puts", sim.fw_puts, 1);
}

static void firmware_answering_part_of_the_key_is_enodev(void)
{
	sim.rows_answered = 4;
	memcpy(sim.rows, rows_a, sizeof(sim.rows));
	expect_eq("module init", shim_module_init(), -ENODEV);
	expect(!sim.registered, "no device registered");
	expect_eq("firmware puts", sim.fw_puts, 1);
}

static void no_firmware_node_is_enodev(void)
{
	sim.no_node = true;
	expect_eq("module init", shim_module_init(), -ENODEV);
	expect_eq("devices registered", sim.registrations, 0);
	expect_eq("firmware gets", sim.fw_gets, 0);
}

static void firmware_driver_not_ready_is_eagain(void)
{
	sim.driver_not_ready = true;
	expect_eq("module init", shim_module_init(), -EAGAIN);
	expect_eq("devices registered", sim.registrations, 0);
	expect_eq("device-tree node put", sim.node_puts, 1);
	expect_eq("mailbox reads", sim.get_calls, 0);
}

static void misc_register_failure_puts_firmware(void)
{
	sim.misc_register_ret = -EBUSY;
	expect_eq("module init", shim_module_init(), -EBUSY);
	expect(!sim.registered, "no device registered");
	expect_eq("firmware gets", sim.fw_gets, 1);
	expect_eq("firmware puts", sim.fw_puts, 1);
}

static void open_without_cap_sys_admin_is_eperm(void)
{
	struct file f;

	load();
	sim.not_admin = true;
	expect_eq("open without CAP_SYS_ADMIN", open_dev(&f), -EPERM);
	unload();
}

static void copy_from_user_fault_is_efault_without_program(void)
{
	load();
	sim.fault_from_user = true;
	expect_eq("write from a bad address", write_key(key_a), -EFAULT);
	expect_eq("mailbox programs", sim.set_calls, 0);
	expect_rows(__LINE__, "rows", blank_rows);
	unload();
}

static void copy_to_user_fault_is_efault(void)
{
	u8 buf[KS_OTP_BYTES];
	struct file f;

	memcpy(sim.rows, rows_a, sizeof(sim.rows));
	load();
	sim.fault_to_user = true;
	expect_eq("open", open_dev(&f), 0);
	expect_eq("read into a bad address", dev_read(&f, buf, 32), -EFAULT);
	expect_eq("offset after the fault", f.f_pos, 0);
	unload();
}

/* The wipe of [p, p+n) after event index after, if any. */
static bool wiped_after(int after, const void *p, size_t n)
{
	int i;

	for (i = after + 1; i < sim.nev; i++)
		if (sim.ev[i].kind == EV_WIPE && sim.ev[i].p == p &&
		    sim.ev[i].n == n)
			return true;
	return false;
}

/* Every mailbox message the module sent was wiped after its answer. */
static void expect_messages_wiped(int line)
{
	int i;

	for (i = 0; i < sim.nev; i++)
		if (sim.ev[i].kind == EV_MAILBOX &&
		    !wiped_after(i, sim.ev[i].p, sim.ev[i].n))
			fail(line, "mailbox message %d (%zu bytes) wiped after its answer",
			     i, sim.ev[i].n);
}

static int find_event(int kind)
{
	int i;

	for (i = 0; i < sim.nev; i++)
		if (sim.ev[i].kind == kind)
			return i;
	fail(__LINE__, "an event of kind %d", kind);
}

static void read_wipes_the_key_and_messages(void)
{
	u8 key[KS_OTP_BYTES];
	int i;

	memcpy(sim.rows, rows_a, sizeof(sim.rows));
	load();
	sim.nev = 0;
	read_key(key);
	i = find_event(EV_TO_USER);
	expect(wiped_after(i, sim.ev[i].p, KS_OTP_BYTES),
	       "the key buffer copied to user space wiped after the copy");
	expect_messages_wiped(__LINE__);
	unload();
}

/* want (copied from user) and have (read from the firmware): both wiped. */
static void expect_write_wiped(int line)
{
	int from, i, keys = 0;

	from = find_event(EV_FROM_USER);
	if (!wiped_after(from, sim.ev[from].p, KS_OTP_BYTES))
		fail(line, "the key copied from user space wiped before the write returns");
	for (i = from + 1; i < sim.nev; i++)
		if (sim.ev[i].kind == EV_WIPE && sim.ev[i].n == KS_OTP_BYTES &&
		    sim.ev[i].p != sim.ev[from].p)
			keys++;
	if (keys != 1)
		fail(line, "the key read from the firmware wiped once, wiped %d times",
		     keys);
	expect_messages_wiped(line);
}

static void write_wipes_the_keys_and_messages(void)
{
	sim.set_answer_len = 40;
	load();
	sim.nev = 0;
	expect_eq("first key", write_key(key_a), 32);
	expect_write_wiped(__LINE__);
	/* Refused: have holds the key that is there. */
	sim.nev = 0;
	expect_eq("second key", write_key(key_b), -EEXIST);
	expect_write_wiped(__LINE__);
	unload();
}

static const struct {
	const char *name;
	void (*run)(void);
} scenarios[] = {
#define S(fn) { #fn, fn }
	S(blank_otp_reads_32_zero_bytes_then_eof),
	S(programmed_otp_reads_rows_big_endian),
	S(long_read_buffer_gets_the_32_bytes),
	S(short_or_offset_read_is_einval),
	S(program_blank_otp_set_answered_40),
	S(program_blank_otp_set_answered_4),
	S(program_blank_otp_set_answered_0),
	S(second_key_is_eexist_and_never_programmed),
	S(programmed_otp_write_is_eexist_without_program),
	S(bad_writes_are_einval_without_program),
	S(stuck_bit_is_eio_on_read_back),
	S(firmware_refusing_program_is_an_error),
	S(program_reported_failed_but_burnt_is_success),
	S(partial_program_with_error_is_eio),
	S(firmware_without_tag_is_enodev_and_puts_firmware),
	S(firmware_leaving_tag_unanswered_is_enodev),
	S(firmware_answering_part_of_the_key_is_enodev),
	S(no_firmware_node_is_enodev),
	S(firmware_driver_not_ready_is_eagain),
	S(misc_register_failure_puts_firmware),
	S(open_without_cap_sys_admin_is_eperm),
	S(copy_from_user_fault_is_efault_without_program),
	S(copy_to_user_fault_is_efault),
	S(read_wipes_the_key_and_messages),
	S(write_wipes_the_keys_and_messages),
#undef S
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s list|SCENARIO\n", argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!strcmp(argv[1], "list")) {
			printf("%s\n", scenarios[i].name);
			continue;
		}
		if (strcmp(argv[1], scenarios[i].name))
			continue;
		scenario = scenarios[i].name;
		scenarios[i].run();
		expect(!ks_lock.held, "ks_lock released at the end");
		expect_eq("firmware references held at the end", sim.fw_refs, 0);
		expect_eq("device-tree node references held at the end",
			  sim.node_gets - sim.node_puts, 0);
		printf("PASS %s\n", scenario);
		return 0;
	}
	if (!strcmp(argv[1], "list"))
		return 0;
	fprintf(stderr, "unknown scenario %s\n", argv[1]);
	return 2;
}
