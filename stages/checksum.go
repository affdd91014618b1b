package stages

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// CRC32C returns the Castagnoli CRC of b, the checksum GCS keeps per object.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, pipeline.Castagnoli) }

// CRC32CBase64 formats c as GCS and `gsutil hash` show it: standard base64 of
// its 4 big-endian bytes ("AAAAAA==" for 0).
func CRC32CBase64(c uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], c)
	return base64.StdEncoding.EncodeToString(b[:])
}

// CRC32CHex formats c as 8 lower-case hex digits of its big-endian bytes.
func CRC32CHex(c uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], c)
	return hex.EncodeToString(b[:])
}
