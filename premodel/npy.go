package premodel

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

// The bundle's numeric arrays are NumPy .npy files (format 1.0,
// little-endian, C order): a reader needs no modelpick code to inspect
// them (numpy.load), and the header states dtype and shape, so a file
// swapped for another array is caught on load.

const npyMagic = "\x93NUMPY\x01\x00"

// npyEncode writes a float64 ('<f8') or int64 ('<i8') array of the given
// shape; values are in C order.
func npyEncode(descr string, shape []int, write func(*bytes.Buffer)) []byte {
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
	total := len(npyMagic) + 2 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	write(&b)
	return b.Bytes()
}

func npyMatrix(rows [][]float64, cols int) []byte {
	return npyEncode("<f8", []int{len(rows), cols}, func(b *bytes.Buffer) {
		for _, r := range rows {
			for _, v := range r {
				_ = binary.Write(b, binary.LittleEndian, math.Float64bits(v))
			}
		}
	})
}

func npyFloats(v []float64) []byte {
	return npyEncode("<f8", []int{len(v)}, func(b *bytes.Buffer) {
		for _, x := range v {
			_ = binary.Write(b, binary.LittleEndian, math.Float64bits(x))
		}
	})
}

func npyInts(v []int) []byte {
	return npyEncode("<i8", []int{len(v)}, func(b *bytes.Buffer) {
		for _, x := range v {
			_ = binary.Write(b, binary.LittleEndian, int64(x))
		}
	})
}

var npyHeaderRE = regexp.MustCompile(`^\{'descr': '([<>|][a-z][0-9]+)', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \}\s*$`)

// npyDecode parses an array written by npyEncode and returns its dtype,
// shape and data bytes.
func npyDecode(b []byte) (string, []int, []byte, error) {
	if len(b) < len(npyMagic)+2 || string(b[:len(npyMagic)]) != npyMagic {
		return "", nil, nil, errors.New("not a .npy file of format 1.0")
	}
	n := int(binary.LittleEndian.Uint16(b[len(npyMagic):]))
	start := len(npyMagic) + 2
	if len(b) < start+n {
		return "", nil, nil, errors.New("truncated .npy header")
	}
	m := npyHeaderRE.FindStringSubmatch(string(b[start : start+n]))
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

func npyReadMatrix(b []byte) ([][]float64, error) {
	descr, shape, data, err := npyDecode(b)
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

func npyReadFloats(b []byte) ([]float64, error) {
	descr, shape, data, err := npyDecode(b)
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

func npyReadInts(b []byte) ([]int, error) {
	descr, shape, data, err := npyDecode(b)
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
