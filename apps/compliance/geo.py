"""Country of IP origin from a small range table (data/ip_country_ranges.csv).

Private and loopback ranges map to "LAN" (the hospital's own network), which the
token rule does not count as a country. Unknown addresses map to "??" and are not
counted either: the rule should fire on evidence, not on a gap in the table."""

import bisect
import csv
import ipaddress
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).parent / "data" / "ip_country_ranges.csv"
NOT_A_COUNTRY = frozenset({"LAN", "??"})


@lru_cache(maxsize=1)
def _ranges():
    by_version = {4: [], 6: []}
    with TABLE.open(encoding="utf-8") as handle:
        for row in csv.reader(line for line in handle if not line.startswith("#")):
            network = ipaddress.ip_network(row[0].strip())
            by_version[network.version].append((int(network.network_address), int(network.broadcast_address),
                                                row[1].strip()))
    return {version: (sorted(rows), [start for start, _end, _c in sorted(rows)]) for version, rows in by_version.items()}


@lru_cache(maxsize=65536)
def country_of(ip: str | None) -> str:
    if not ip:
        return "??"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "??"
    rows, starts = _ranges()[address.version]
    index = bisect.bisect_right(starts, int(address)) - 1
    if index >= 0 and rows[index][0] <= int(address) <= rows[index][1]:
        return rows[index][2]
    return "??"
