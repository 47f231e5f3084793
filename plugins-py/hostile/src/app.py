"""Misbehaves on purpose, chosen by the booking's id: the host must stop each misdeed at its named
limit and keep serving. ``samples/`` says what each must produce."""

from portico_plugin import Booking, log, mapper


@mapper
def map(booking: Booking) -> None:
    if booking.id == "loop":
        while True:
            pass
    if booking.id == "memory":
        hoard = []
        i = 0
        while True:
            hoard.append("x" * (1 << 20) + str(i))
            i += 1
    if booking.id == "throw":
        raise ValueError("the booking's answers were not what this plugin expected")
    if booking.id == "logs":
        for i in range(100_000):
            log.info(f"line {i} ".ljust(1000, "."))
