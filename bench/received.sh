#!/usr/bin/env bash
# mxtls received over a generated mbox of about 1 GiB (messages of four hops in the formats of
# tests/data/received, with 8 KiB bodies): messages per second, CPU and peak RSS. Memory must not
# grow with the file.
#   bash bench/received.sh build [MiB]
set -euo pipefail
build=${1:?build dir} mib=${2:-1024}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/box.mbox" "$mib" <<'PY'
import sys
path, mib = sys.argv[1], int(sys.argv[2])
body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 140 + "\n") * 1
hops = ["Received: from inbox (localhost [127.0.0.1])\n\tby inbox.example.net (Postfix) with LMTP id A%d;\n\tMon, 12 Feb 2024 10:00:03 +0000\n",
        "Received: from relay.example.net (relay [192.0.2.40])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n\tby inbox.example.net (Postfix) with ESMTPS id B%d;\n\tMon, 12 Feb 2024 10:00:02 +0000\n",
        "Received: from smtp.example.org ([198.51.100.8])\n\tby relay.example.net with esmtps (TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256)\n\t(Exim 4.92) id C%d; Mon, 12 Feb 2024 10:00:01 +0000\n",
        "Received: from laptop ([192.0.2.55])\n\tby smtp.example.org (8.15.2/8.15.2) with ESMTPSA id D%d\n\t(version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 verify=NOT);\n\tMon, 12 Feb 2024 10:00:00 +0000\n"]
target, n = mib << 20, 0
with open(path, "w") as f:
    while f.tell() < target:
        f.write("From sender%d@example.org Mon Feb 12 10:00:00 2024\n" % n)
        for h in hops:
            f.write(h % n)
        f.write("Message-ID: <m%d@example.org>\nDate: Mon, 12 Feb 2024 10:00:00 +0000\nSubject: bench\n\n" % n)
        f.write(body)
        n += 1
print("messages written:", n)
PY
echo "file: $(stat -c %s "$tmp/box.mbox") bytes"
/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak RSS" \
    "$build/mxtls" received --format csv -o "$tmp/hops.csv.gz" "$tmp/box.mbox"
echo "hop rows: $(($(zcat "$tmp/hops.csv.gz" | wc -l) - 1))"
