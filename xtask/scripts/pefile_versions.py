#!/usr/bin/env python3
"""Print 'path<TAB>machine<TAB>file version' for PE files, as Debian's python3-pefile
reads them (the reference for `cargo xtask pe-crosscheck`)."""
import sys, pefile
for path in sys.stdin.read().split('\0'):
    if not path:
        continue
    try:
        pe = pefile.PE(path, fast_load=True)
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY['IMAGE_DIRECTORY_ENTRY_RESOURCE']])
        machine = '0x%04x' % pe.FILE_HEADER.Machine
        ver = '-'
        if hasattr(pe, 'VS_FIXEDFILEINFO') and pe.VS_FIXEDFILEINFO:
            f = pe.VS_FIXEDFILEINFO[0]
            ver = '%d.%d.%d.%d' % (f.FileVersionMS >> 16, f.FileVersionMS & 0xffff, f.FileVersionLS >> 16, f.FileVersionLS & 0xffff)
        print('%s\t%s\t%s' % (path, machine, ver))
    except Exception as e:
        print('%s\terror\t%s' % (path, type(e).__name__))
