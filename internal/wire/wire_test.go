package wire

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		s    []string
		i    []int64
		b    []byte
	}{
		{"empty fields", []string{"", ""}, []int64{0}, nil},
		{"ascii and unicode", []string{"acct-1", "https://例え.jp"}, []int64{-1, 1}, []byte{0, 1, 2}},
		{"extremes", []string{string(make([]byte, 300))}, []int64{math.MinInt64, math.MaxInt64}, bytes.Repeat([]byte{0xff}, 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter(nil)
			w.Byte(7)
			w.Strings(tt.s...)
			for _, i := range tt.i {
				w.Int(i)
			}
			w.Bytes(tt.b)
			r := NewReader(w.Out())
			if got := r.Byte(); got != 7 {
				t.Fatalf("Byte = %d", got)
			}
			for _, s := range tt.s {
				if got := r.String(); got != s {
					t.Fatalf("String = %q, want %q", got, s)
				}
			}
			for _, i := range tt.i {
				if got := r.Int(); got != i {
					t.Fatalf("Int = %d, want %d", got, i)
				}
			}
			if got := r.Bytes(); !bytes.Equal(got, tt.b) {
				t.Fatalf("Bytes = %x, want %x", got, tt.b)
			}
			if err := r.Done(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(*Reader)
	}{
		{"empty input, string", nil, func(r *Reader) { _ = r.String() }},
		{"empty input, int", nil, func(r *Reader) { r.Int() }},
		{"empty input, byte", nil, func(r *Reader) { r.Byte() }},
		{"length past the end", []byte{5, 'a', 'b'}, func(r *Reader) { _ = r.String() }},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *Reader) { r.Bytes() }},
		{"unterminated varint", []byte{0x80, 0x80}, func(r *Reader) { r.Int() }},
		{"bytes left over", []byte{1, 'a', 9}, func(r *Reader) { _ = r.String() }},
		{"error sticks", []byte{9, 1, 'a'}, func(r *Reader) { _, _ = r.String(), r.String() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(tt.in)
			tt.read(r)
			if err := r.Done(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Done = %v, want ErrMalformed", err)
			}
		})
	}
}

// FuzzReader: any input decodes to values or ErrMalformed, never a panic,
// and what decodes re-encodes to the same bytes.
func FuzzReader(f *testing.F) {
	w := NewWriter(nil)
	w.String("acct")
	w.Int(-42)
	w.Bytes([]byte{1, 2})
	f.Add(w.Out())
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in)
		s, i, b := r.String(), r.Int(), r.Bytes()
		if r.Done() != nil {
			return
		}
		w := NewWriter(nil)
		w.String(s)
		w.Int(i)
		w.Bytes(b)
		// Varints have one shortest form; a longer one decodes too, so only
		// check that the re-encoding decodes to the same values.
		r2 := NewReader(w.Out())
		if r2.String() != s || r2.Int() != i || !bytes.Equal(r2.Bytes(), b) || r2.Done() != nil {
			t.Fatalf("re-encoding of %x does not decode to the same values", in)
		}
	})
}
