"""Every Redis key and pub/sub channel name of one deployment, in one place, under the deployment's prefix.

One Redis may serve several deployments (the demo, the tests, a bench, staging). Database numbers keep keys
apart but not pub/sub channels, which are global to the server: a console of one deployment would hear the
alerts of another, and a unit message forwarded by unit number could reach another deployment's crew. So
every name starts with `settings.key_prefix` (see `Settings.redis_prefix`), and nothing outside this module
writes a key name of its own.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix or any(c in self.prefix for c in " :{}"):
            raise ValueError(f"a Redis prefix is a plain word, not {self.prefix!r}")

    # Pub/sub channels.
    @property
    def events(self) -> str:
        """Changes every console hears (and every matcher wakes on)."""
        return f"{self.prefix}:events"

    @property
    def push(self) -> str:
        """Unit messages: each service process forwards them to the sockets it holds."""
        return f"{self.prefix}:push"

    # The unit board.
    @property
    def board(self) -> str:
        return f"{self.prefix}:board"

    @property
    def board_positions(self) -> str:
        return f"{self.prefix}:board:pos"

    @property
    def board_silent(self) -> str:
        """The units whose device has not answered (a message given up on): unit id -> ms since then."""
        return f"{self.prefix}:board:silent"

    @property
    def board_log(self) -> str:
        """Every change to the board, in order (a stream): what a matcher's mirror of the board reads."""
        return f"{self.prefix}:board:log"

    @property
    def board_seq(self) -> str:
        """The number of the board log's last entry: a mirror that finds one missing reads the whole board."""
        return f"{self.prefix}:board:seq"

    # Unit outboxes and acknowledgement deadlines.
    def outbox(self, unit_id: int) -> str:
        return f"{self.prefix}:outbox:{unit_id}"

    def seq(self, unit_id: int) -> str:
        return f"{self.prefix}:seq:{unit_id}"

    def pending(self, unit_id: int) -> str:
        return f"{self.prefix}:pending:{unit_id}"

    def sent_assignments(self, unit_id: int) -> str:
        """The assignments lately put in a unit's outbox, by id: each goes in once (see dispatch.push.sweep)."""
        return f"{self.prefix}:sent:{unit_id}"

    def answers(self, unit_id: int) -> str:
        """The answers a unit's device was given, by the id of its message (see dispatch.push.answers)."""
        return f"{self.prefix}:answers:{unit_id}"

    def answers_at(self, unit_id: int) -> str:
        """When each of those answers was given: the oldest go first."""
        return f"{self.prefix}:answers-at:{unit_id}"

    @property
    def deadlines(self) -> str:
        return f"{self.prefix}:ack:deadlines"

    @property
    def outbox_epoch(self) -> str:
        """The first seq of this Redis's life, from PostgreSQL's `outbox_epoch` (see dispatch.push.outbox)."""
        return f"{self.prefix}:outbox:epoch"

    # Matching.
    def recommended(self, incident_id: int) -> str:
        """What an incident waiting for units was last said to lack (`incident.recommended`): said again only
        when it changes."""
        return f"{self.prefix}:recommended:{incident_id}"

    # Move-up.
    def move(self, unit_id: int) -> str:
        """A unit's standing move order."""
        return f"{self.prefix}:move:{unit_id}"

    @property
    def moveup_lock(self) -> str:
        return f"{self.prefix}:moveup:lock"

    # Limits on public reports and on failed sign-ins.
    def rate(self, kind: str, who: str, window: int) -> str:
        return f"{self.prefix}:ratelimit:{kind}:{who}:{window}"
