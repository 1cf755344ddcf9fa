package eval

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/ramphq/ramp/flag"
)

// Bucketing algorithm ramp-v1 (docs/bucketing.md):
//
//	h      = XXH64(u32be(len(salt)) ‖ salt ‖ u32be(len(value)) ‖ value, seed 0)
//	bucket = ⌊h · 100000 / 2^64⌋
//
// Length prefixes make the input unambiguous: salt "ab" with value "c" and salt "a" with value "bc" hash
// differently. The salt part is hashed once at compile time into prefix; only the value is hashed per call.

// split is a compiled percentage split.
type split struct {
	by         path
	salt       []byte        // u32be(len(salt)) ‖ salt
	prefix     xxhash.Digest // hash state after salt, for values too long for the stack buffer
	bounds     []uint32      // cumulative upper bounds in buckets, one per weight
	variations []int         // variation index per weight
}

func compileSplit(s *flag.Split, flagKey string, index map[string]int) *split {
	salt := s.Salt
	if salt == "" {
		salt = flagKey
	}
	c := &split{by: compilePath(s.BucketBy)}
	c.prefix.Reset()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(salt)))
	c.prefix.Write(n[:])
	c.prefix.WriteString(salt)
	c.salt = append(append(c.salt, n[:]...), salt...)
	var total uint32
	for _, w := range s.Weights {
		total += uint32(w.Units())
		c.bounds = append(c.bounds, total)
		c.variations = append(c.variations, index[w.Variation])
	}
	return c
}

// Bucket returns the ramp-v1 bucket, in [0, flag.Buckets), of value under salt. SDKs and tools use it to
// reproduce assignments; the evaluator uses the precomputed equivalent.
func Bucket(salt, value string) int {
	var d xxhash.Digest
	d.Reset()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(salt)))
	d.Write(n[:])
	d.WriteString(salt)
	return int(bucketOf(&d, value))
}

// bucket hashes value under the split's salt. Short inputs are laid out in a stack buffer and hashed in one
// call, which is about twice as fast as copying and feeding the streaming state.
func (s *split) bucket(value string) uint32 {
	var buf [64]byte // covers a key-sized salt and an id-sized value; zeroing more costs more than it saves
	n := len(s.salt) + 4 + len(value)
	if n > len(buf) {
		return s.bucketLong(value)
	}
	k := copy(buf[:], s.salt)
	binary.BigEndian.PutUint32(buf[k:], uint32(len(value)))
	copy(buf[k+4:], value)
	hi, _ := bits.Mul64(xxhash.Sum64(buf[:n]), flag.Buckets)
	return uint32(hi)
}

// bucketLong streams long inputs through the precomputed salt state. It is a separate function so that the short
// path's frame stays small.
//
//go:noinline
func (s *split) bucketLong(value string) uint32 {
	d := s.prefix
	return bucketOf(&d, value)
}

func bucketOf(d *xxhash.Digest, value string) uint32 {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(value)))
	d.Write(n[:])
	d.WriteString(value)
	hi, _ := bits.Mul64(d.Sum64(), flag.Buckets)
	return uint32(hi)
}

// pick returns the variation index for a bucket.
func (s *split) pick(b uint32) int {
	for i, ub := range s.bounds {
		if b < ub {
			return s.variations[i]
		}
	}
	return s.variations[len(s.variations)-1] // unreachable: validated weights total flag.Buckets
}

// numberKey formats a number the way ramp-v1 hashes it: decimal, no exponent, shortest round trip.
func numberKey(buf []byte, f float64) []byte {
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

func bucketOfBytes(d *xxhash.Digest, value []byte) uint32 {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(value)))
	d.Write(n[:])
	d.Write(value)
	hi, _ := bits.Mul64(d.Sum64(), flag.Buckets)
	return uint32(hi)
}
