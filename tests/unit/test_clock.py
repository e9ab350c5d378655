import pytest

from pyvmm.clock import NEVER, PIT_HZ, Clock


def test_timers_fire_in_deadline_order_at_their_own_time():
    clock = Clock(rate=1000)
    fired = []
    a = clock.timer("a", lambda: fired.append(("a", clock.now)))
    b = clock.timer("b", lambda: fired.append(("b", clock.now)))
    a.set(30)
    b.set(10)
    assert clock.deadline == 10
    clock.advance(100)
    assert fired == [("b", 10), ("a", 30)]
    assert clock.now == 100
    assert clock.deadline == NEVER


def test_rearming_replaces_deadline_and_cancel_removes_it():
    clock = Clock(rate=1000)
    fired = []
    t = clock.timer("t", lambda: fired.append(clock.now))
    t.set(50)
    t.set(20)
    clock.advance(60)
    assert fired == [20]
    t.set_in(10)
    t.cancel()
    assert clock.deadline == NEVER
    clock.advance(100)
    assert fired == [20]


def test_callback_may_rearm_its_timer_periodically():
    clock = Clock(rate=1000)
    fired = []
    t = clock.timer("tick", None)

    def tick():
        fired.append(clock.now)
        t.set_in(25)

    t.callback = tick
    t.set(25)
    clock.advance(100)
    assert fired == [25, 50, 75, 100]


def test_same_deadline_keeps_arming_order():
    clock = Clock(rate=1000)
    fired = []
    for name in "xyz":
        clock.timer(name, lambda n=name: fired.append(n)).set(5)
    clock.advance(5)
    assert fired == ["x", "y", "z"]


def test_duplicate_timer_name_is_refused():
    clock = Clock()
    clock.timer("pit", lambda: None)
    with pytest.raises(ValueError):
        clock.timer("pit", lambda: None)


def test_tick_conversion_is_exact_at_the_default_rate():
    clock = Clock()
    assert clock.rate == 4 * PIT_HZ
    assert clock.ticks(PIT_HZ, 4 * 12345) == 12345
    assert clock.cycle_of_tick(PIT_HZ, 12345) == 4 * 12345
    # a tick that falls between cycles is reached at the next whole cycle
    c = Clock(rate=1000)
    assert c.cycle_of_tick(300, 1) == 4
    assert c.ticks(300, 4) == 1 and c.ticks(300, 3) == 0


def test_request_stop_pulls_deadline_to_now_until_fire_due():
    clock = Clock(rate=1000)
    t = clock.timer("t", lambda: None)
    t.set(500)
    clock.now = 100
    clock.request_stop()
    assert clock.deadline == 100
    clock.fire_due()
    assert clock.deadline == 500


def test_state_round_trip_restores_armed_timers():
    clock = Clock(rate=1000)
    fired = []
    clock.timer("a", lambda: fired.append("a")).set(40)
    clock.timer("b", lambda: fired.append("b"))
    clock.advance(10)
    state = clock.get_state()

    other = Clock(rate=1)
    other.timer("a", lambda: fired.append("a2"))
    other.timer("b", lambda: fired.append("b2"))
    other.set_state(state)
    assert other.now == 10 and other.rate == 1000 and other.deadline == 40
    other.advance(30)
    assert fired == ["a2"]
