// ELF files for the doctor's tests, made byte by byte.

/** An ELF header for AArch64 (64-bit, little-endian, an executable) with no program headers: enough for the
 * doctor to know its machine, and for the kernel of another architecture to refuse it. */
export function aarch64Header(): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF', 0, 'latin1');
  header[4] = 2; // ELFCLASS64
  header[5] = 1; // little-endian
  header[6] = 1; // EV_CURRENT
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(183, 18); // EM_AARCH64
  header.writeUInt16LE(56, 54); // e_phentsize
  return header;
}
