// Package wire is the compact binary encoding of numauth's own small
// records: the payloads of sealed tokens and the H5 sessions kept in the
// ephemeral store. A record is its fields in a fixed order, each a varint
// (integers) or a uvarint length followed by the bytes (strings). It is
// several times cheaper to write and read than JSON, which mattered because
// every flow writes and reads several of them (docs/performance.md).
//
// The format carries no field names: a record's type fixes the order, and
// whoever changes a record changes its version byte.
package wire

import (
	"encoding/binary"
	"errors"
)

// ErrMalformed is returned when a record does not decode.
var ErrMalformed = errors.New("wire: malformed record")

// Writer appends fields to a buffer.
type Writer struct{ b []byte }

// NewWriter returns a Writer appending to buf (which may be nil).
func NewWriter(buf []byte) *Writer { return &Writer{b: buf} }

// String appends a string field.
func (w *Writer) String(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

// Strings appends string fields, one after the other.
func (w *Writer) Strings(ss ...string) {
	for _, s := range ss {
		w.String(s)
	}
}

// Bytes appends a byte-string field.
func (w *Writer) Bytes(p []byte) {
	w.b = binary.AppendUvarint(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

// Int appends an integer field.
func (w *Writer) Int(v int64) { w.b = binary.AppendVarint(w.b, v) }

// Byte appends one raw byte (a version or a tag).
func (w *Writer) Byte(c byte) { w.b = append(w.b, c) }

// Out returns the encoded record.
func (w *Writer) Out() []byte { return w.b }

// Reader reads fields in the order they were written. After the first
// error every read returns a zero value; Done reports it.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads the record b (untrusted input: every length is checked).
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) fail() { r.err, r.b = ErrMalformed, nil }

// Byte reads one raw byte.
func (r *Reader) Byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Int reads an integer field.
func (r *Reader) Int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// raw reads a length-prefixed field without copying it.
func (r *Reader) raw() []byte {
	if r.err != nil {
		return nil
	}
	l, n := binary.Uvarint(r.b)
	if n <= 0 || l > uint64(len(r.b)-n) {
		r.fail()
		return nil
	}
	p := r.b[n : n+int(l)]
	r.b = r.b[n+int(l):]
	return p
}

// String reads a string field.
func (r *Reader) String() string { return string(r.raw()) }

// Bytes reads a byte-string field (a copy; nil when empty).
func (r *Reader) Bytes() []byte {
	p := r.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// More reports whether bytes are left to read (for fields appended by a
// later version of a payload).
func (r *Reader) More() bool { return r.err == nil && len(r.b) > 0 }

// Done reports the first error, or ErrMalformed if bytes are left over.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail()
	}
	return r.err
}
