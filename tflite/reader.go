package tflite

import (
	"errors"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// ErrCorrupt is wrapped by every Parse failure about the bytes themselves
// (an offset out of range, a bad vtable, an index past a table), as opposed to
// content that parses but is unusable; test with errors.Is.
var ErrCorrupt = errors.New("truncated or corrupt TFLite file")

// buffer is a bounds-checked view of a flatbuffer. The flatbuffers runtime
// assumes valid input and panics on bad offsets; every access here is checked
// first and then decoded with the runtime's little-endian helpers.
type buffer []byte

func (b buffer) check(pos, n int64) error {
	if pos < 0 || n < 0 || pos > int64(len(b)) || n > int64(len(b))-pos {
		return fmt.Errorf("%d bytes at %d of %d: %w", n, pos, len(b), ErrCorrupt)
	}
	return nil
}

func (b buffer) u16(pos int64) (uint16, error) {
	if err := b.check(pos, 2); err != nil {
		return 0, err
	}
	return flatbuffers.GetUint16(b[pos:]), nil
}

func (b buffer) u32(pos int64) (uint32, error) {
	if err := b.check(pos, 4); err != nil {
		return 0, err
	}
	return flatbuffers.GetUint32(b[pos:]), nil
}

// table is a located flatbuffer table with its vtable.
type table struct {
	b      buffer
	pos    int64 // start of the table (its soffset to the vtable)
	vt     int64 // start of the vtable
	vtLen  int64 // vtable size in bytes
	objLen int64 // inline object size in bytes
}

// tableAt locates the table starting at pos.
func (b buffer) tableAt(pos int64) (table, error) {
	if err := b.check(pos, 4); err != nil {
		return table{}, fmt.Errorf("table: %w", err)
	}
	so := int64(flatbuffers.GetInt32(b[pos:]))
	vt := pos - so
	vtLen, err := b.u16(vt)
	if err != nil {
		return table{}, fmt.Errorf("vtable: %w", err)
	}
	objLen, err := b.u16(vt + 2)
	if err != nil {
		return table{}, fmt.Errorf("vtable: %w", err)
	}
	if vtLen < 4 || vtLen%2 != 0 || objLen < 4 {
		return table{}, fmt.Errorf("vtable at %d: sizes %d/%d: %w", vt, vtLen, objLen, ErrCorrupt)
	}
	if err := b.check(vt, int64(vtLen)); err != nil {
		return table{}, fmt.Errorf("vtable: %w", err)
	}
	if err := b.check(pos, int64(objLen)); err != nil {
		return table{}, fmt.Errorf("table body: %w", err)
	}
	return table{b: b, pos: pos, vt: vt, vtLen: int64(vtLen), objLen: int64(objLen)}, nil
}

// field returns the absolute position of field i (size bytes), or ok=false
// when the field is absent (and takes its default).
func (t table) field(i int, size int64) (pos int64, ok bool, err error) {
	vo := int64(4 + 2*i)
	if vo+2 > t.vtLen {
		return 0, false, nil
	}
	off := int64(flatbuffers.GetUint16(t.b[t.vt+vo:]))
	if off == 0 {
		return 0, false, nil
	}
	if off+size > t.objLen {
		return 0, false, fmt.Errorf("field %d at +%d exceeds object of %d bytes: %w", i, off, t.objLen, ErrCorrupt)
	}
	return t.pos + off, true, nil
}

func (t table) u8(i int, def uint8) (uint8, error) {
	p, ok, err := t.field(i, 1)
	if err != nil || !ok {
		return def, err
	}
	return t.b[p], nil
}

func (t table) i8(i int, def int8) (int8, error) {
	v, err := t.u8(i, uint8(def))
	return int8(v), err
}

func (t table) boolean(i int) (bool, error) {
	v, err := t.u8(i, 0)
	return v != 0, err
}

func (t table) i32(i int, def int32) (int32, error) {
	p, ok, err := t.field(i, 4)
	if err != nil || !ok {
		return def, err
	}
	return flatbuffers.GetInt32(t.b[p:]), nil
}

func (t table) u32(i int, def uint32) (uint32, error) {
	v, err := t.i32(i, int32(def))
	return uint32(v), err
}

func (t table) f32(i int, def float32) (float32, error) {
	p, ok, err := t.field(i, 4)
	if err != nil || !ok {
		return def, err
	}
	return flatbuffers.GetFloat32(t.b[p:]), nil
}

func (t table) u64(i int, def uint64) (uint64, error) {
	p, ok, err := t.field(i, 8)
	if err != nil || !ok {
		return def, err
	}
	return flatbuffers.GetUint64(t.b[p:]), nil
}

// ref follows the uoffset stored in field i.
func (t table) ref(i int) (target int64, ok bool, err error) {
	p, ok, err := t.field(i, 4)
	if err != nil || !ok {
		return 0, ok, err
	}
	target = p + int64(flatbuffers.GetUint32(t.b[p:]))
	if err := t.b.check(target, 4); err != nil {
		return 0, false, fmt.Errorf("field %d: %w", i, err)
	}
	return target, true, nil
}

// sub returns the sub-table in field i.
func (t table) sub(i int) (table, bool, error) {
	p, ok, err := t.ref(i)
	if err != nil || !ok {
		return table{}, false, err
	}
	st, err := t.b.tableAt(p)
	if err != nil {
		return table{}, false, fmt.Errorf("field %d: %w", i, err)
	}
	return st, true, nil
}

// vector is a located flatbuffer vector: n elements of elem bytes at start.
type vector struct {
	b     buffer
	start int64
	n     int
	elem  int64
}

// vec returns the vector in field i whose elements are elem bytes wide; an
// absent field is an empty vector.
func (t table) vec(i int, elem int64) (vector, error) {
	p, ok, err := t.ref(i)
	if err != nil || !ok {
		return vector{b: t.b, elem: elem}, err
	}
	n := int64(flatbuffers.GetUint32(t.b[p:]))
	if err := t.b.check(p+4, n*elem); err != nil {
		return vector{}, fmt.Errorf("field %d: vector of %d: %w", i, n, err)
	}
	return vector{b: t.b, start: p + 4, n: int(n), elem: elem}, nil
}

func (v vector) bytes() []byte {
	return v.b[v.start : v.start+int64(v.n)*v.elem : v.start+int64(v.n)*v.elem]
}

func (v vector) at(k int) []byte { return v.b[v.start+int64(k)*v.elem:] }

// table returns element k of a vector of tables.
func (v vector) table(k int) (table, error) {
	p := v.start + int64(k)*4
	target := p + int64(flatbuffers.GetUint32(v.b[p:]))
	t, err := v.b.tableAt(target)
	if err != nil {
		return table{}, fmt.Errorf("element %d: %w", k, err)
	}
	return t, nil
}

func (t table) str(i int) (string, error) {
	v, err := t.vec(i, 1)
	if err != nil {
		return "", err
	}
	return string(v.bytes()), nil
}

func (t table) int32s(i int) ([]int32, error) {
	v, err := t.vec(i, 4)
	if err != nil || v.n == 0 {
		return nil, err
	}
	out := make([]int32, v.n)
	for k := range out {
		out[k] = flatbuffers.GetInt32(v.at(k))
	}
	return out, nil
}

func (t table) float32s(i int) ([]float32, error) {
	v, err := t.vec(i, 4)
	if err != nil || v.n == 0 {
		return nil, err
	}
	out := make([]float32, v.n)
	for k := range out {
		out[k] = flatbuffers.GetFloat32(v.at(k))
	}
	return out, nil
}

func (t table) int64s(i int) ([]int64, error) {
	v, err := t.vec(i, 8)
	if err != nil || v.n == 0 {
		return nil, err
	}
	out := make([]int64, v.n)
	for k := range out {
		out[k] = flatbuffers.GetInt64(v.at(k))
	}
	return out, nil
}
