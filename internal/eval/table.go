package eval

import (
	"hash/maphash"
	"math/bits"
)

// table maps flag keys to compiled flags. It is an open-addressing hash table built once per snapshot and at
// most half full, with a hash that reads a short key in two word loads. For flag keys it is several times faster
// than a Go map, which matters because the lookup is most of a static evaluation's budget. Lookup cost does not
// depend on the number of flags. The seed is random per table, so keys cannot be chosen to collide on purpose.
type table struct {
	seed  uint64
	slots []slot
	mask  uint64
}

type slot struct {
	key string
	f   *cflag
}

func newTable(n int) table {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	var s maphash.Hash
	return table{seed: s.Sum64() | 1, slots: make([]slot, size), mask: uint64(size - 1)}
}

func (t *table) put(key string, f *cflag) {
	i := t.hash(key) & t.mask
	for t.slots[i].f != nil && t.slots[i].key != key {
		i = (i + 1) & t.mask
	}
	t.slots[i] = slot{key: key, f: f}
}

func (t *table) get(key string) *cflag {
	i := t.hash(key) & t.mask
	for {
		s := &t.slots[i]
		if s.f == nil || s.key == key {
			return s.f
		}
		i = (i + 1) & t.mask
	}
}

// hash mixes the key's length, its first and last eight bytes (fewer for short keys) and, for keys longer than
// sixteen bytes, the middle, with a multiply-xorshift finalizer in the style of wyhash.
func (t *table) hash(s string) uint64 {
	const (
		k1 = 0xa0761d6478bd642f
		k2 = 0xe7037ed1a0b428db
	)
	n := len(s)
	var a, b uint64
	switch {
	case n >= 8:
		a = le64(s[:8])
		b = le64(s[n-8:])
		for i := 8; i < n-8; i += 8 { // long keys: mix in the middle words
			a = mix(a^k1, le64(s[i:i+8])^t.seed)
		}
	case n >= 4:
		a = uint64(le32(s[:4]))
		b = uint64(le32(s[n-4:]))
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	return mix(a^t.seed^uint64(n), b^k2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
