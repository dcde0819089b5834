"""mirage: a user-space TCP/IP stack in pure Python, and its adapter to the IO interface.

One layer per module, each a sans-IO core driven by an injected clock (:mod:`.sched`):

* :mod:`.netif` — network interfaces: a Linux TAP device, an in-memory switch joining
  several stacks in one process; :mod:`.pcap` records any of them, :mod:`.faults`
  injects seeded loss, duplication, reordering, delay and corruption.
* :mod:`.ethernet`, :mod:`.arp`, :mod:`.ipv4`, :mod:`.icmp`, :mod:`.ipv6`,
  :mod:`.icmpv6`, :mod:`.ndp` (Neighbor Discovery, SLAAC, MLD), :mod:`.udp`,
  :mod:`.tcp` — the protocols, each citing its RFC.
* :mod:`.stack` — one dual-stack host: an interface plus loopback, routing, the sockets
  tables of both families.
* :mod:`.adapter` — the :class:`backends.interface.Backend` on top, hosted on asyncio or
  trio through anyio.
"""
