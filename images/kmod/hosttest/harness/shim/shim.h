/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shim.h - just enough of the kernel's API, in user space, to compile
 * images/kmod/kortstation-otp/kortstation_otp.c unchanged on the build host
 * (images/kmod/hosttest). Every header the module includes is a one-line
 * file beside this one that includes it. The functions the module calls are
 * declared here and defined by harness.c, which records what the module did
 * with them (firmware references, device registration, wipes, user copies).
 */
#ifndef KS_SHIM_H
#define KS_SHIM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef unsigned short umode_t;

#define __user
#define __packed __attribute__((packed))
#define __init
#define __exit

/* The module's init and exit, for the harness to call as the loader does. */
#define module_init(fn) \
	static int (*const shim_module_init)(void) __attribute__((unused)) = fn
#define module_exit(fn) \
	static void (*const shim_module_exit)(void) __attribute__((unused)) = fn
#define MODULE_DESCRIPTION(s) \
	static const char shim_module_description[] __attribute__((unused)) = s
#define MODULE_LICENSE(s) \
	static const char shim_module_license[] __attribute__((unused)) = s

struct module;
#define THIS_MODULE ((struct module *)0)

/* printk: the level as the kernel's KERN_* prefix, to stderr. */
#define pr_err(fmt, ...) fprintf(stderr, "<3>" fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) fprintf(stderr, "<4>" fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) fprintf(stderr, "<6>" fmt, ##__VA_ARGS__)

/* A mutex the harness checks: locking it twice or unlocking it unlocked
 * ends the run, and every scenario ends with it unlocked. */
struct mutex {
	int held;
};
#define DEFINE_MUTEX(name) struct mutex name = { 0 }
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

void memzero_explicit(void *s, size_t count);
void *memchr_inv(const void *start, int c, size_t bytes);

#define CAP_SYS_ADMIN 21
bool capable(int cap);

struct inode {
	int unused;
};
struct file {
	loff_t f_pos;
	int nonseekable;
};
struct file_operations {
	struct module *owner;
	int (*open)(struct inode *, struct file *);
	ssize_t (*read)(struct file *, char __user *, size_t, loff_t *);
	ssize_t (*write)(struct file *, const char __user *, size_t, loff_t *);
};
int nonseekable_open(struct inode *inode, struct file *file);

/* Bytes not copied, as the kernel's. */
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);

#define MISC_DYNAMIC_MINOR 255
struct miscdevice {
	int minor;
	const char *name;
	const struct file_operations *fops;
	umode_t mode;
};
int misc_register(struct miscdevice *misc);
void misc_deregister(struct miscdevice *misc);

struct device_node;
struct device_node *of_find_compatible_node(struct device_node *from,
					    const char *type,
					    const char *compat);
void of_node_put(struct device_node *node);

struct rpi_firmware;
struct rpi_firmware_property_tag_header {
	u32 tag;
	u32 buf_size;
	u32 req_resp_size;
};
struct rpi_firmware *rpi_firmware_get(struct device_node *firmware_node);
void rpi_firmware_put(struct rpi_firmware *fw);
int rpi_firmware_property_list(struct rpi_firmware *fw, void *data,
			       size_t tag_size);

#endif
