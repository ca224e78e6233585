package takumi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/compress/zlib"
)

// takumi's own PNG encoder (the png crate, adaptive filters, its balanced
// deflate) spends more on a 1200x630 card than takumi spends drawing it:
// about 5 ms of the quickstart card's 10, 10 ms or more on a gradient.
// So for PNG the helper returns takumi's raw pixels and they are encoded
// here, by encodePNG, a few times faster: an image of at most 256 colours
// is indexed (as takumi's encoder does too), rows unfiltered; any other is
// RGB when opaque, else RGBA, every row filtered Up; deflate at its
// fastest level. PNG is lossless: the pixels are takumi's, only the file's
// bytes (a little larger) differ.

// maxRawPixels bounds the canvases whose raw pixels cross the pipe (4
// bytes each, below maxFrame); takumi encodes larger ones itself.
const maxRawPixels = 16 << 20

// encodePNG encodes w x h straight (not premultiplied) RGBA pixels.
func encodePNG(pix []byte, w, h int) ([]byte, error) {
	if w <= 0 || h <= 0 || len(pix) != w*h*4 {
		return nil, fmt.Errorf("%w: raw image of %d bytes for %dx%d", ErrRender, len(pix), w, h)
	}
	sc, ok := scratches.get()
	if !ok {
		sc = newScratch()
	}
	defer putScratch(sc)
	pal, opaque := sc.index(pix, w, h)
	var colorType byte
	var rows []byte
	switch {
	case pal != nil:
		colorType, rows = 3, sc.rows
	case opaque:
		colorType, rows = 2, sc.filterUp(pix, w, h, 3)
	default:
		colorType, rows = 6, sc.filterUp(pix, w, h, 4)
	}
	out := bytes.NewBuffer(make([]byte, 0, len(rows)/16+1024))
	out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w)) //nolint:gosec // w, h > 0 and w*h*4 fits in memory
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h)) //nolint:gosec // as above
	ihdr[8], ihdr[9] = 8, colorType
	writeChunk(out, "IHDR", ihdr[:])
	if pal != nil {
		plte, trns := make([]byte, 0, 3*len(pal)), make([]byte, 0, len(pal))
		translucent := false
		for _, c := range pal {
			plte = append(plte, byte(c), byte(c>>8), byte(c>>16)) //nolint:gosec // the bytes of a little-endian RGBA colour
			trns = append(trns, byte(c>>24))
			translucent = translucent || byte(c>>24) != 0xff
		}
		writeChunk(out, "PLTE", plte)
		if translucent {
			writeChunk(out, "tRNS", trns)
		}
	}
	sc.z.Reset()
	zw := sc.zw
	zw.Reset(&sc.z)
	if _, err := zw.Write(rows); err != nil {
		return nil, fmt.Errorf("takumi: deflate: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("takumi: deflate: %w", err)
	}
	writeChunk(out, "IDAT", sc.z.Bytes())
	writeChunk(out, "IEND", nil)
	return out.Bytes(), nil
}

func writeChunk(out *bytes.Buffer, typ string, data []byte) {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], uint32(len(data))) //nolint:gosec // a chunk of one render, far below 4 GiB
	copy(b[4:], typ)
	out.Write(b[:])
	out.Write(data)
	crc := crc32.Update(crc32.ChecksumIEEE(b[4:8]), crc32.IEEETable, data)
	binary.BigEndian.PutUint32(b[:4], crc)
	out.Write(b[:4])
}

// scratch is one encoding's reusable buffers.
type scratch struct {
	rows []byte // filtered rows, each led by its filter type
	prev []byte // the previous row, unfiltered (filterUp)
	z    bytes.Buffer
	zw   *zlib.Writer
}

// scratches are kept for reuse (as frames are, proc.go).
var scratches = newFreeList[*scratch](16)

// maxPooledScratch bounds each buffer of a scratch kept for reuse: the
// rows of a canvas of maxPooledFrame bytes, with their filter bytes.
const maxPooledScratch = maxPooledFrame + maxPooledFrame/4

// putScratch keeps sc for reuse unless an encoding of a large canvas grew
// its buffers past maxPooledScratch (then it is dropped, as large frames
// are: the list would otherwise keep them for the life of the process).
func putScratch(sc *scratch) {
	if cap(sc.rows) <= maxPooledScratch && cap(sc.prev) <= maxPooledScratch && sc.z.Cap() <= maxPooledScratch {
		scratches.put(sc)
	}
}

func newScratch() *scratch {
	zw, err := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	if err != nil {
		panic(errors.Join(errors.New("takumi: zlib writer"), err)) // a constant, valid level
	}
	return &scratch{zw: zw}
}

func (sc *scratch) grow(n int) []byte {
	if cap(sc.rows) < n {
		sc.rows = make([]byte, n)
	}
	sc.rows = sc.rows[:n]
	return sc.rows
}

// index reports the image's palette (nil past 256 colours), each colour
// little-endian RGBA, and whether every pixel is opaque. With a palette,
// sc.rows holds the indexed rows, unfiltered.
func (sc *scratch) index(pix []byte, w, h int) (pal []uint32, opaque bool) {
	rows := sc.grow(h * (w + 1))
	var keys [1024]uint32
	var slots [1024]uint16 // palette index + 1; 0 is empty
	prev, prevIdx := ^binary.LittleEndian.Uint32(pix), byte(0)
	pal = make([]uint32, 0, 256)
	rl := w * 4
	for y := range h {
		rows[y*(w+1)] = 0 // filter None
		line := pix[y*rl : (y+1)*rl]
		dst := rows[y*(w+1)+1 : (y+1)*(w+1)]
		// A card repeats whole rows (its background) and runs of one
		// colour: a row like the one above has its indices; a pair of
		// pixels of the last colour needs no lookup.
		if y > 0 && bytes.Equal(line, pix[(y-1)*rl:y*rl]) {
			copy(dst, rows[(y-1)*(w+1)+1:y*(w+1)])
			continue
		}
		pair := uint64(prev) | uint64(prev)<<32
		for x := 0; x < w; x++ {
			if x+1 < w && binary.LittleEndian.Uint64(line[x*4:]) == pair {
				dst[x], dst[x+1] = prevIdx, prevIdx
				x++
				continue
			}
			c := binary.LittleEndian.Uint32(line[x*4:])
			if c != prev {
				hsh := (c * 0x9e3779b1) >> 22
				for slots[hsh] != 0 && keys[hsh] != c {
					hsh = (hsh + 1) & 1023
				}
				if slots[hsh] == 0 {
					if len(pal) == 256 {
						return nil, isOpaque(pix)
					}
					pal = append(pal, c)
					keys[hsh], slots[hsh] = c, uint16(len(pal)) //nolint:gosec // at most 256
				}
				prev, prevIdx = c, byte(slots[hsh]-1) //nolint:gosec // 0..255: a palette index
				pair = uint64(prev) | uint64(prev)<<32
			}
			dst[x] = prevIdx
		}
	}
	opaque = true
	for _, c := range pal {
		opaque = opaque && c>>24 == 0xff
	}
	return pal, opaque
}

// isOpaque reports whether every pixel's alpha is 255.
func isOpaque(pix []byte) bool {
	const alpha = 0xff000000ff000000
	i := 0
	for ; i+32 <= len(pix); i += 32 {
		v := binary.LittleEndian.Uint64(pix[i:]) & binary.LittleEndian.Uint64(pix[i+8:]) &
			binary.LittleEndian.Uint64(pix[i+16:]) & binary.LittleEndian.Uint64(pix[i+24:])
		if v&alpha != alpha {
			return false
		}
	}
	for ; i < len(pix); i += 4 {
		if pix[i+3] != 0xff {
			return false
		}
	}
	return true
}

// filterUp writes the rows, bpp bytes a pixel (3: RGB, alpha dropped; 4:
// RGBA), each filtered Up: a byte less the byte above it.
func (sc *scratch) filterUp(pix []byte, w, h, bpp int) []byte {
	rl := w * bpp
	rows := sc.grow(h * (rl + 1))
	if cap(sc.prev) < rl {
		sc.prev = make([]byte, rl)
	}
	prev := sc.prev[:rl]
	clear(prev)
	for y := range h {
		line := pix[y*w*4 : (y+1)*w*4]
		rows[y*(rl+1)] = 2 // filter Up
		dst := rows[y*(rl+1)+1 : (y+1)*(rl+1)]
		if bpp == 4 {
			copy(dst, line)
		} else {
			packRGB(dst, line)
		}
		// dst holds the row as is; filter it against prev, keeping it
		// in prev for the next row. Eight bytes at a time: a bytewise
		// subtraction without borrows across bytes.
		const hi = 0x8080808080808080
		i := 0
		for ; i+8 <= rl; i += 8 {
			a, b := binary.LittleEndian.Uint64(dst[i:]), binary.LittleEndian.Uint64(prev[i:])
			binary.LittleEndian.PutUint64(prev[i:], a)
			binary.LittleEndian.PutUint64(dst[i:], ((a|hi)-(b&^hi))^((a^^b)&hi))
		}
		for ; i < rl; i++ {
			a := dst[i]
			dst[i] -= prev[i]
			prev[i] = a
		}
	}
	return rows
}

// packRGB copies RGBA pixels src to RGB dst, dropping alpha, four pixels
// (16 bytes in, 12 out) at a time.
func packRGB(dst, src []byte) {
	const rgb = 0xffffff
	i, j := 0, 0
	for ; i+16 <= len(src) && j+16 <= len(dst); i, j = i+16, j+12 {
		v0, v1 := binary.LittleEndian.Uint64(src[i:]), binary.LittleEndian.Uint64(src[i+8:])
		p0, p1, p2, p3 := v0&rgb, v0>>32&rgb, v1&rgb, v1>>32&rgb
		binary.LittleEndian.PutUint64(dst[j:], p0|p1<<24|p2<<48)
		binary.LittleEndian.PutUint32(dst[j+8:], uint32(p2>>16|p3<<8)) //nolint:gosec // 24 bits
	}
	for ; i+4 <= len(src) && j+3 <= len(dst); i, j = i+4, j+3 {
		dst[j], dst[j+1], dst[j+2] = src[i], src[i+1], src[i+2]
	}
}
