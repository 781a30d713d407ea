#!/usr/bin/env python3
"""The Python side of bench/src/bin/form_upload.rs: parses a form body read
from standard input and prints its figures as `key=value` lines.

    form_parse.py multipart BOUNDARY   stream the body through python-multipart
                                       (pip install python-multipart), counting
                                       each part's bytes, as the post example does
    form_parse.py urlencoded LIMIT     urllib.parse.parse_qsl(body,
                                       max_num_fields=LIMIT); LIMIT 0 means None,
                                       Python's default (no limit)

Figures: bytes read, parts or fields, seconds from the first byte read to the
end of parsing, and the process's peak RSS (ru_maxrss, KiB).
"""

import resource
import sys
import time
import urllib.parse


def multipart(boundary):
    from python_multipart.multipart import MultipartParser

    sizes = []

    def on_part_begin():
        sizes.append(0)

    def on_part_data(data, start, end):
        sizes[-1] += end - start

    parser = MultipartParser(boundary.encode(), {
        "on_part_begin": on_part_begin,
        "on_part_data": on_part_data,
    })
    stdin = sys.stdin.buffer
    total = 0
    start = None
    while True:
        chunk = stdin.read1(1 << 20)
        if start is None:
            start = time.perf_counter()
        if not chunk:
            break
        total += len(chunk)
        parser.write(chunk)
    parser.finalize()
    seconds = time.perf_counter() - start
    print(f"bytes={total}")
    print(f"parts={len(sizes)}")
    print(f"largest={max(sizes, default=0)}")
    print(f"seconds={seconds:.6f}")


def urlencoded(limit):
    body = sys.stdin.buffer.read()
    start = time.perf_counter()
    try:
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True,
                                       max_num_fields=limit or None)
        outcome = f"parsed {len(pairs)} fields"
    except ValueError as e:
        outcome = f"ValueError: {e}"
    seconds = time.perf_counter() - start
    print(f"bytes={len(body)}")
    print(f"outcome={outcome}")
    print(f"seconds={seconds:.6f}")


def main():
    mode, arg = sys.argv[1], sys.argv[2]
    if mode == "multipart":
        multipart(arg)
    else:
        urlencoded(int(arg))
    print(f"maxrss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
    print(f"python={sys.version.split()[0]}")


if __name__ == "__main__":
    main()
