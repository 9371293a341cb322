// gotar reads tar archives with Go's archive/tar, the reader the Docker engine runs on a build context,
// and prints per archive what its Next() loop saw. It is the tar gate's oracle (test/unit/tar-oracle.test.ts).
//
// Input on stdin: any number of archives, each a flag byte (1: the stream breaks after the archive instead
// of ending, as a build-context body cut off by the tar gate), an 8-byte big-endian length, then the bytes.
// Output on stdout: first a line "go <version>", then one line per archive:
//
//	E <typeflag> <name hex> <link hex> <size>   one per entry Next() returned
//	EOF <offset>                                 Next() returned io.EOF after reading <offset> bytes
//	ERR <offset> <message>                       Next() returned another error
//
// The offset counts the bytes the reader took from the archive: Go reads whole 512-byte blocks, so at
// io.EOF it is the end of the block that ended the archive (or of the input).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// counter hides bytes.Reader's Seek (a build context is a stream: the engine's reader cannot seek) and
// counts what the tar reader took. With broken set, the end of the bytes is an error, not io.EOF.
type counter struct {
	r      *bytes.Reader
	n      int64
	broken bool
}

var errBroken = errors.New("stream broken")

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF && c.broken {
		err = errBroken
	}
	return n, err
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	fmt.Fprintf(out, "go %s\n", runtime.Version())
	var length [9]byte
	for {
		if _, err := io.ReadFull(in, length[:]); err == io.EOF {
			return
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "gotar: reading the next archive's length: %v\n", err)
			os.Exit(2)
		}
		archive := make([]byte, binary.BigEndian.Uint64(length[1:]))
		if _, err := io.ReadFull(in, archive); err != nil {
			fmt.Fprintf(os.Stderr, "gotar: reading an archive of %d bytes: %v\n", len(archive), err)
			os.Exit(2)
		}
		readArchive(out, archive, length[0] == 1)
	}
}

func readArchive(out *bufio.Writer, archive []byte, broken bool) {
	c := &counter{r: bytes.NewReader(archive), broken: broken}
	tr := tar.NewReader(c)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			fmt.Fprintf(out, "EOF %d\n", c.n)
			return
		}
		if err != nil {
			fmt.Fprintf(out, "ERR %d %s\n", c.n, strings.ReplaceAll(err.Error(), "\n", " "))
			return
		}
		fmt.Fprintf(out, "E %d %s %s %d\n", hdr.Typeflag, hexOf(hdr.Name), hexOf(hdr.Linkname), hdr.Size)
	}
}

// hexOf keeps names byte for byte (they need not be UTF-8); "-" for the empty string.
func hexOf(s string) string {
	if s == "" {
		return "-"
	}
	return hex.EncodeToString([]byte(s))
}
