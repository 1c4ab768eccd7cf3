// Package npy reads and writes NumPy .npy arrays (format 1.0,
// little-endian, C order) of float64 and int64: a bundle's numeric arrays
// in a form a reader can inspect without modelpick (numpy.load), whose
// header states dtype and shape, so a file swapped for another array is
// caught on load.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

const magic = "\x93NUMPY\x01\x00"

// encode writes a float64 ('<f8') or int64 ('<i8') array of the given
// shape; values are in C order.
func encode(descr string, shape []int, write func(*bytes.Buffer)) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	// Pad with spaces so that the data starts at a multiple of 64 bytes,
	// ending the header with a newline, as the format asks.
	total := len(magic) + 2 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString(magic)
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	write(&b)
	return b.Bytes()
}

// Matrix encodes rows (each of cols values) as a 2-D <f8 array.
func Matrix(rows [][]float64, cols int) []byte {
	return encode("<f8", []int{len(rows), cols}, func(b *bytes.Buffer) {
		for _, r := range rows {
			for _, v := range r {
				_ = binary.Write(b, binary.LittleEndian, math.Float64bits(v))
			}
		}
	})
}

// Floats encodes v as a 1-D <f8 array.
func Floats(v []float64) []byte {
	return encode("<f8", []int{len(v)}, func(b *bytes.Buffer) {
		for _, x := range v {
			_ = binary.Write(b, binary.LittleEndian, math.Float64bits(x))
		}
	})
}

// Ints encodes v as a 1-D <i8 array.
func Ints(v []int) []byte {
	return encode("<i8", []int{len(v)}, func(b *bytes.Buffer) {
		for _, x := range v {
			_ = binary.Write(b, binary.LittleEndian, int64(x))
		}
	})
}

var headerRE = regexp.MustCompile(`^\{'descr': '([<>|][a-z][0-9]+)', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \}\s*$`)

// decode parses an array written by encode and returns its dtype,
// shape and data bytes.
func decode(b []byte) (string, []int, []byte, error) {
	if len(b) < len(magic)+2 || string(b[:len(magic)]) != magic {
		return "", nil, nil, errors.New("not a .npy file of format 1.0")
	}
	n := int(binary.LittleEndian.Uint16(b[len(magic):]))
	start := len(magic) + 2
	if len(b) < start+n {
		return "", nil, nil, errors.New("truncated .npy header")
	}
	m := headerRE.FindStringSubmatch(string(b[start : start+n]))
	if m == nil {
		return "", nil, nil, fmt.Errorf(".npy header %q is not one this reader writes", strings.TrimSpace(string(b[start:start+n])))
	}
	var shape []int
	for _, f := range strings.Split(m[2], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return "", nil, nil, fmt.Errorf(".npy shape %q", m[2])
		}
		shape = append(shape, d)
	}
	data := b[start+n:]
	// No dimension may exceed the values present (which also bounds the
	// product, so a forged shape can neither overflow nor allocate).
	count := 1
	for _, d := range shape {
		if d > len(data)/8 {
			return "", nil, nil, fmt.Errorf(".npy of shape %v holds only %d bytes", shape, len(data))
		}
		count *= d
	}
	if len(data) != 8*count {
		return "", nil, nil, fmt.Errorf(".npy of shape %v holds %d bytes, want %d", shape, len(data), 8*count)
	}
	return m[1], shape, data, nil
}

// ReadMatrix decodes a 2-D <f8 array.
func ReadMatrix(b []byte) ([][]float64, error) {
	descr, shape, data, err := decode(b)
	if err != nil {
		return nil, err
	}
	if descr != "<f8" || len(shape) != 2 {
		return nil, fmt.Errorf("want a 2-D <f8 array, got %s of shape %v", descr, shape)
	}
	out := make([][]float64, shape[0])
	for i := range out {
		out[i] = make([]float64, shape[1])
		for j := range out[i] {
			out[i][j] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*(i*shape[1]+j):]))
		}
	}
	return out, nil
}

// ReadFloats decodes a 1-D <f8 array.
func ReadFloats(b []byte) ([]float64, error) {
	descr, shape, data, err := decode(b)
	if err != nil {
		return nil, err
	}
	if descr != "<f8" || len(shape) != 1 {
		return nil, fmt.Errorf("want a 1-D <f8 array, got %s of shape %v", descr, shape)
	}
	out := make([]float64, shape[0])
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return out, nil
}

// ReadInts decodes a 1-D <i8 array.
func ReadInts(b []byte) ([]int, error) {
	descr, shape, data, err := decode(b)
	if err != nil {
		return nil, err
	}
	if descr != "<i8" || len(shape) != 1 {
		return nil, fmt.Errorf("want a 1-D <i8 array, got %s of shape %v", descr, shape)
	}
	out := make([]int, shape[0])
	for i := range out {
		out[i] = int(int64(binary.LittleEndian.Uint64(data[8*i:])))
	}
	return out, nil
}
