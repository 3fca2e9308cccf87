// Package p11login holds the tests of the operator's and attestors'
// proven login at the counter (kiosk/counter) through the PKCS#11 path
// (hw/cardreader/p11) against a real PKCS#11 module, SoftHSM2, which a test
// binary may start only once (it reads its configuration at the first
// initialisation) — hence a package of its own.
package p11login
