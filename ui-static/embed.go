// Package uistatic holds the station's touchscreen UI: plain HTML, CSS and
// ES modules, no build step, no external fonts or network calls.
package uistatic

import (
	"embed"
	"io/fs"
)

//go:embed index.html css/*.css js/*.js js/screens/*.js
var files embed.FS

// FS is the UI's files, rooted at the UI's top folder.
func FS() fs.FS { return files }
