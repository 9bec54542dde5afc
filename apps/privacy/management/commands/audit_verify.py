from django.core.management.base import BaseCommand, CommandError

from apps.privacy.chain import chain_owner
from apps.privacy.selectors import audit_chain_verify, audit_chains_all


class Command(BaseCommand):
    help = "Verify the audit log's hash chains and report the first broken link of each."

    def add_arguments(self, parser):
        parser.add_argument("--chain", help='One hospital\'s chains ("hospital:3"), one chain ("hospital:3/0"), or "platform" (default: all)')

    def handle(self, *args, chain=None, **options):
        chains = [name for name in audit_chains_all()
                  if chain is None or name == chain or chain_owner(name) == chain]
        if not chains:
            raise CommandError(f"No audit chain matches {chain!r}.")
        broken = 0
        for name in chains:
            result = audit_chain_verify(chain=name)
            if result.ok:
                self.stdout.write(f"OK      {name}: {result.events_checked} events, chain intact")
            else:
                broken += 1
                event = f" (event id {result.broken_event_id})" if result.broken_event_id else ""
                self.stdout.write(f"BROKEN  {name}: at #{result.broken_sequence}{event}: {result.reason}")
        if broken:
            raise CommandError(f"{broken} of {len(chains)} audit chains are broken")
        self.stdout.write(f"All {len(chains)} audit chains verified.")
