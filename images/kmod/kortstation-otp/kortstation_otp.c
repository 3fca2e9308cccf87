// SPDX-License-Identifier: GPL-2.0-only
/*
 * kortstation_otp - the Raspberry Pi's device-unique OTP private key, for
 * the station's encrypted data partition (images/dataunlock).
 *
 * The SoC holds a 256-bit private key in one-time-programmable memory that
 * only the VideoCore firmware can reach, through its mailbox property
 * interface (tags 0x00030081 read, 0x00038081 program: offset, row count,
 * then the rows). Raspberry Pi OS reaches it from user space through
 * /dev/vcio, a device only Raspberry Pi's own kernel has. Debian's kernel,
 * which the station image ships, has the firmware driver but no user-space
 * door to it; this module is that door, and nothing more:
 *
 *   /dev/kortstation-otp   root only (mode 0600 and CAP_SYS_ADMIN)
 *     read   the 32-byte key, in one read from offset 0; 32 zero bytes on
 *            a board where it was never programmed
 *     write  exactly 32 bytes from offset 0 program the key, refused
 *            (EEXIST) unless the key is still blank, refused (EINVAL) for
 *            an all-zero key, and read back to check (EIO on a mismatch)
 *
 * Loading fails with ENODEV where there is no Raspberry Pi firmware, or
 * the firmware does not answer the private-key tag (older firmware, a SoC
 * before the BCM2711): kortstation-unlock then looks for another key
 * source rather than trust a device that cannot keep the key.
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <soc/bcm2835/raspberrypi-firmware.h>

#define KS_OTP_TAG_GET	0x00030081
#define KS_OTP_TAG_SET	0x00038081
#define KS_OTP_ROWS	8
#define KS_OTP_BYTES	(KS_OTP_ROWS * 4)
/* The firmware's answer sets bit 31 of the tag's size word. */
#define KS_OTP_RESPONSE	0x80000000u

struct ks_otp_msg {
	struct rpi_firmware_property_tag_header hdr;
	u32 start;
	u32 count;
	u32 rows[KS_OTP_ROWS];
} __packed;

#define KS_OTP_VALUE_SIZE (sizeof(struct ks_otp_msg) - \
			   sizeof(struct rpi_firmware_property_tag_header))

static struct rpi_firmware *ks_fw;
/* One mailbox conversation at a time: a read between a check and a program
 * must not interleave with another program. */
static DEFINE_MUTEX(ks_lock);

/*
 * The key's bytes are its rows, most significant row first, each row big
 * endian: the byte order of rpi-otp-private-key's hex (and of the P-256
 * scalar the firmware's own crypto services read from these rows), so the
 * same board gives the same 32 bytes through either.
 */
static void ks_rows_from_key(u32 rows[KS_OTP_ROWS], const u8 key[KS_OTP_BYTES])
{
	int i;

	for (i = 0; i < KS_OTP_ROWS; i++)
		rows[i] = (u32)key[4 * i] << 24 | (u32)key[4 * i + 1] << 16 |
			  (u32)key[4 * i + 2] << 8 | key[4 * i + 3];
}

static void ks_key_from_rows(u8 key[KS_OTP_BYTES], const u32 rows[KS_OTP_ROWS])
{
	int i;

	for (i = 0; i < KS_OTP_ROWS; i++) {
		key[4 * i] = rows[i] >> 24;
		key[4 * i + 1] = rows[i] >> 16;
		key[4 * i + 2] = rows[i] >> 8;
		key[4 * i + 3] = rows[i];
	}
}

/*
 * ks_call runs one tag over the mailbox. A read must be answered in full:
 * a firmware that does not know the tag answers the buffer but not the
 * tag, which must not read as a blank key. A program is judged only by the
 * read-back that follows it (ks_write), whatever the firmware answers: what the firmware answers for one is not
 * documented (QEMU's emulation answers 4 bytes, echoing nothing), and a
 * key burnt but reported as a failure would leave the board with a key
 * nothing was ever encrypted with.
 */
static int ks_call(u32 tag, u8 key[KS_OTP_BYTES])
{
	struct ks_otp_msg msg;
	u32 got;
	int ret;

	memset(&msg, 0, sizeof(msg));
	msg.hdr.tag = tag;
	msg.hdr.buf_size = KS_OTP_VALUE_SIZE;
	msg.hdr.req_resp_size = 0;
	msg.start = 0;
	msg.count = KS_OTP_ROWS;
	if (tag == KS_OTP_TAG_SET)
		ks_rows_from_key(msg.rows, key);

	ret = rpi_firmware_property_list(ks_fw, &msg, sizeof(msg));
	if (ret || tag == KS_OTP_TAG_SET)
		goto out;
	got = msg.hdr.req_resp_size;
	if (!(got & KS_OTP_RESPONSE) ||
	    (got & ~KS_OTP_RESPONSE) != KS_OTP_VALUE_SIZE ||
	    msg.start != 0 || msg.count != KS_OTP_ROWS) {
		pr_warn("kortstation_otp: firmware answered tag 0x%08x with size word 0x%08x: no private key here\n",
			tag, got);
		ret = -ENODEV;
		goto out;
	}
	if (tag == KS_OTP_TAG_GET)
		ks_key_from_rows(key, msg.rows);
out:
	memzero_explicit(&msg, sizeof(msg));
	return ret;
}

static bool ks_blank(const u8 key[KS_OTP_BYTES])
{
	return !memchr_inv(key, 0, KS_OTP_BYTES);
}

static int ks_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return nonseekable_open(inode, file);
}

static ssize_t ks_read(struct file *file, char __user *buf, size_t len,
		       loff_t *ppos)
{
	u8 key[KS_OTP_BYTES];
	ssize_t ret;

	if (*ppos >= KS_OTP_BYTES)
		return 0;
	if (*ppos != 0 || len < KS_OTP_BYTES)
		return -EINVAL;

	mutex_lock(&ks_lock);
	ret = ks_call(KS_OTP_TAG_GET, key);
	mutex_unlock(&ks_lock);
	if (ret)
		goto out;
	if (copy_to_user(buf, key, KS_OTP_BYTES)) {
		ret = -EFAULT;
		goto out;
	}
	*ppos = KS_OTP_BYTES;
	ret = KS_OTP_BYTES;
out:
	memzero_explicit(key, sizeof(key));
	return ret;
}

static ssize_t ks_write(struct file *file, const char __user *buf,
			size_t len, loff_t *ppos)
{
	u8 want[KS_OTP_BYTES], have[KS_OTP_BYTES];
	ssize_t ret;
	int prog;

	if (*ppos != 0 || len != KS_OTP_BYTES)
		return -EINVAL;
	if (copy_from_user(want, buf, KS_OTP_BYTES)) {
		ret = -EFAULT;
		goto wipe;
	}
	if (ks_blank(want)) {
		ret = -EINVAL;
		goto wipe;
	}

	mutex_lock(&ks_lock);
	ret = ks_call(KS_OTP_TAG_GET, have);
	if (ret)
		goto unlock;
	/* OTP bits never go back to 0: a second key would be the OR of both
	 * and the first would be lost with everything it encrypted. */
	if (!ks_blank(have)) {
		ret = -EEXIST;
		goto unlock;
	}
	/* Whatever the program's answer, the read-back decides: a mailbox
	 * that times out or reports an error may do so after the rows were
	 * burnt, and a key burnt but reported lost would never be used. */
	prog = ks_call(KS_OTP_TAG_SET, want);
	ret = ks_call(KS_OTP_TAG_GET, have);
	if (ret)
		goto unlock;
	if (memcmp(have, want, KS_OTP_BYTES)) {
		if (!ks_blank(have)) {
			pr_err("kortstation_otp: the key read back differs from the key programmed\n");
			ret = -EIO;
		} else {
			/* Nothing burnt: the firmware's refusal, or a silent no. */
			ret = prog ? prog : -EIO;
		}
		goto unlock;
	}
	if (prog)
		pr_warn("kortstation_otp: the firmware reported %d, but the key reads back as programmed\n", prog);
	pr_info("kortstation_otp: private key programmed\n");
	*ppos = KS_OTP_BYTES;
	ret = KS_OTP_BYTES;
unlock:
	mutex_unlock(&ks_lock);
wipe:
	memzero_explicit(want, sizeof(want));
	memzero_explicit(have, sizeof(have));
	return ret;
}

static const struct file_operations ks_fops = {
	.owner = THIS_MODULE,
	.open = ks_open,
	.read = ks_read,
	.write = ks_write,
};

static struct miscdevice ks_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kortstation-otp",
	.fops = &ks_fops,
	.mode = 0600,
};

static int __init ks_init(void)
{
	struct device_node *np;
	u8 key[KS_OTP_BYTES];
	int ret;

	np = of_find_compatible_node(NULL, NULL, "raspberrypi,bcm2835-firmware");
	if (!np) {
		pr_info("kortstation_otp: no Raspberry Pi firmware in the device tree\n");
		return -ENODEV;
	}
	ks_fw = rpi_firmware_get(np);
	of_node_put(np);
	if (!ks_fw) {
		pr_warn("kortstation_otp: the Raspberry Pi firmware driver is not ready\n");
		return -EAGAIN;
	}

	/* Only a firmware that answers the private-key tag gets a device. */
	mutex_lock(&ks_lock);
	ret = ks_call(KS_OTP_TAG_GET, key);
	mutex_unlock(&ks_lock);
	memzero_explicit(key, sizeof(key));
	if (ret) {
		pr_warn("kortstation_otp: the firmware does not give the private key (%d)\n", ret);
		ret = -ENODEV;
		goto put;
	}

	ret = misc_register(&ks_misc);
	if (ret)
		goto put;
	pr_info("kortstation_otp: /dev/%s ready\n", ks_misc.name);
	return 0;
put:
	rpi_firmware_put(ks_fw);
	ks_fw = NULL;
	return ret;
}

static void __exit ks_exit(void)
{
	misc_deregister(&ks_misc);
	rpi_firmware_put(ks_fw);
}

module_init(ks_init);
module_exit(ks_exit);

MODULE_DESCRIPTION("Raspberry Pi OTP private key for Kortstation's data-partition unlock");
MODULE_LICENSE("GPL");
