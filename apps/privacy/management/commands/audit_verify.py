from django.core.management.base import BaseCommand, CommandError

from apps.privacy.selectors import audit_chain_verify, audit_chains_all


class Command(BaseCommand):
    help = "Verify the audit log's hash chains and report the first broken link of each."

    def add_arguments(self, parser):
        parser.add_argument("--chain", help='One chain, e.g. "hospital:3" or "platform" (default: all)')

    def handle(self, *args, chain=None, **options):
        chains = [chain] if chain else audit_chains_all()
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
