package protocol

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// MaxBody is the largest decompressed body either side accepts.
const MaxBody = 64 << 20

// Error is a non-2xx answer from the registry.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("registry answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether retrying later may succeed (5xx, 429).
func (e *Error) Temporary() bool { return e.Status >= 500 || e.Status == http.StatusTooManyRequests }

// ErrBadResponse wraps a response that could not be read or decoded: cut
// off, corrupted or not JSON. Nothing from it is applied.
var ErrBadResponse = errors.New("bad response from registry")

// gzPool holds writers at BestSpeed: the bodies are JSON with many random
// identifiers, where harder compression buys little and costs CPU on a Pi.
var gzPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// Encode writes v as gzip-compressed JSON.
func Encode(w io.Writer, v any) error {
	zw := gzPool.Get().(*gzip.Writer)
	defer gzPool.Put(zw)
	zw.Reset(w)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	return nil
}

// Decode reads a body that is gzip-compressed when gzipped is true, into v,
// refusing more than MaxBody decompressed bytes and trailing garbage.
func Decode(r io.Reader, gzipped bool, v any) error {
	if gzipped {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	lr := &io.LimitedReader{R: r, N: MaxBody + 1}
	dec := json.NewDecoder(lr)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	// Read to the end so a cut-off gzip stream (bad checksum, missing
	// trailer) is detected even when the JSON value itself was complete.
	rest, err := io.ReadAll(dec.Buffered())
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	tail, err := io.ReadAll(lr)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if lr.N <= 0 {
		return fmt.Errorf("decode: body larger than %d bytes", MaxBody)
	}
	if len(bytes.TrimSpace(rest)) != 0 || len(bytes.TrimSpace(tail)) != 0 {
		return errors.New("decode: trailing data after the JSON value")
	}
	return nil
}

// IsGzip reports whether a Content-Encoding header value says gzip.
func IsGzip(h string) bool { return strings.EqualFold(strings.TrimSpace(h), "gzip") }

// Post sends req as gzip-compressed JSON to url and decodes the answer into
// resp. A non-2xx answer is an *Error; an unreadable one wraps
// ErrBadResponse.
func Post(ctx context.Context, hc *http.Client, url string, req, resp any) error {
	var buf bytes.Buffer
	if err := Encode(&buf, req); err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &buf)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Content-Encoding", "gzip")
	hr.Header.Set("Accept-Encoding", "gzip")
	hr.Header.Set(HeaderProtocol, Version)
	res, err := hc.Do(hr)
	if err != nil {
		return fmt.Errorf("post %s: %w", hr.URL.Path, err)
	}
	defer res.Body.Close()
	gz := IsGzip(res.Header.Get("Content-Encoding"))
	if res.StatusCode/100 != 2 {
		var eb ErrorBody
		if derr := Decode(res.Body, gz, &eb); derr != nil {
			eb = ErrorBody{Code: CodeInternal, Message: http.StatusText(res.StatusCode)}
		}
		return &Error{Status: res.StatusCode, Code: eb.Code, Message: eb.Message}
	}
	if resp == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := Decode(res.Body, gz, resp); err != nil {
		return fmt.Errorf("%s: %w: %w", hr.URL.Path, ErrBadResponse, err)
	}
	return nil
}

// WriteJSON answers with status and v as gzip-compressed JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := Encode(&buf, v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	w.Header().Set(HeaderProtocol, Version)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteError answers with an ErrorBody.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	_ = WriteJSON(w, status, ErrorBody{Code: code, Message: msg})
}

// ReadRequest decodes a request body sent by Post.
func ReadRequest(r *http.Request, v any) error {
	return Decode(r.Body, IsGzip(r.Header.Get("Content-Encoding")), v)
}
