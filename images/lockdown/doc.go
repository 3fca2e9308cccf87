// Package lockdown tests the kiosk lockdown as shipped: Chromium's managed
// policy (in a real Chromium, inside a private mount namespace so the
// machine's own /etc/chromium is not touched), the display unit's network
// allow-list against the addresses the UI and CUPS listen on, and the USB
// class filter the udev rule runs. The files live where they are shipped
// from (systemd/, images/deb/, images/rootfs/); the image layout test
// checks they arrive in the image.
package lockdown
