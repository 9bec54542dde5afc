import os

from django.core.management.base import BaseCommand, CommandError

from apps.privacy.chain import chain_owner
from apps.privacy.selectors import audit_chains_all, audit_chains_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chains and report the first broken link of each."

    def add_arguments(self, parser):
        parser.add_argument("--chain", help='One hospital\'s chains ("hospital:3"), one chain ("hospital:3/0"), or "platform" (default: all)')
        parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                            help="Chains verified at once, one process each on PostgreSQL (default: cores, at most 4)")

    def handle(self, *args, chain=None, workers=1, **options):
        chains = [name for name in audit_chains_all()
                  if chain is None or name == chain or chain_owner(name) == chain]
        if not chains:
            raise CommandError(f"No audit chain matches {chain!r}.")
        broken = 0
        for result in audit_chains_verify(chains, workers=workers):
            if result.ok:
                self.stdout.write(f"OK      {result.chain}: {result.events_checked} events, chain intact")
            else:
                broken += 1
                event = f" (event id {result.broken_event_id})" if result.broken_event_id else ""
                self.stdout.write(f"BROKEN  {result.chain}: at #{result.broken_sequence}{event}: {result.reason}")
        if broken:
            raise CommandError(f"{broken} of {len(chains)} audit chains are broken")
        self.stdout.write(f"All {len(chains)} audit chains verified.")
