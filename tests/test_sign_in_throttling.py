"""Sign-in throttling through the real admin sign-in page: per address, per account from any address
(a growing wait, never a lock-out), and whose X-Forwarded-For is believed."""

import time

import pytest
from django.test import Client

from newsroom.auth import KNOWN_BROWSER_COOKIE, client_ip_address
from newsroom.models import AccountSignInFailures

PASSWORD = "pass-word-123"
WRONG = "Please enter the correct username and password"
ACCOUNT_WAIT = "There have been too many failed sign-ins for this account."
ADDRESS_LOCKED = "There have been too many failed sign-ins from your internet address."


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.LOGIN_ACCOUNT_DELAY_SECONDS = 1
    settings.LOGIN_ACCOUNT_MAX_DELAY_SECONDS = 900
    settings.TRUSTED_PROXIES = []
    return settings


@pytest.fixture
def sam(publisher):
    publisher.set_password(PASSWORD)
    publisher.save()
    return publisher


def sign_in(browser, username, password):
    return browser.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def from_address(address: str, **headers) -> Client:
    return Client(REMOTE_ADDR=address, **headers)


# -- Per account, from any address ---------------------------------------------------------------


def test_guessing_one_account_from_many_addresses_is_slowed_down_and_its_owner_gets_in_after_the_wait(
    limits, sam
):
    limits.LOGIN_ACCOUNT_DELAY_SECONDS = 10  # longer than the twenty guesses take, on a slow machine too
    answers = [sign_in(from_address(f"198.51.100.{n}"), "sam", f"Guess{n}!") for n in range(20)]

    checked, refused = answers[:5], answers[5:]
    for response in checked:  # the first guesses are checked, and wrong
        assert response.status_code == 200 and WRONG in response.content.decode()
    for response in refused:  # the rest are refused unchecked, saying when to try again
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 10
        page = response.content.decode()
        assert ACCOUNT_WAIT in page and f"try again in {response['Retry-After']} second" in page
        assert 'name="password"' in page  # the sign-in page, to try again from
    assert AccountSignInFailures.objects.get(username="sam").failures == 5  # refusals are not guesses

    owner = from_address("203.0.113.50")
    early = sign_in(owner, "sam", PASSWORD)  # even the right password waits its turn
    assert early.status_code == 429 and ACCOUNT_WAIT in early.content.decode()
    time.sleep(int(early["Retry-After"]))
    signed_in = sign_in(owner, "sam", PASSWORD)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert not AccountSignInFailures.objects.filter(username="sam").exists()  # the count starts again


def test_each_further_failure_for_an_account_doubles_its_wait(limits, sam):
    for n in range(5):
        sign_in(from_address(f"198.51.100.{n}"), "sam", "wrong")
    waits = []
    for n in range(3):
        refused = sign_in(from_address(f"192.0.2.{n}"), "sam", "wrong")
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        time.sleep(2**n + 0.05)
        assert sign_in(from_address(f"192.0.2.{n}"), "sam", "wrong").status_code == 200  # checked: wrong
    assert waits == [1, 2, 4]
    assert AccountSignInFailures.objects.get(username="sam").failures == 8


def test_a_wait_for_one_account_leaves_other_accounts_alone(limits, sam, press_officer):
    limits.LOGIN_ACCOUNT_DELAY_SECONDS = 60  # the wait outlasts the test, however slow the machine
    press_officer.set_password(PASSWORD)
    press_officer.save()
    for n in range(6):
        sign_in(from_address(f"198.51.100.{n}"), "sam", "wrong")
    assert sign_in(from_address("198.51.100.9"), "sam", "wrong").status_code == 429
    assert sign_in(from_address("198.51.100.9"), "pat", PASSWORD).status_code == 302


def test_the_owner_s_usual_browser_never_waits_while_the_account_is_guessed_elsewhere(limits, sam):
    limits.LOGIN_ACCOUNT_DELAY_SECONDS = 60  # the wait outlasts the test, however slow the machine
    usual = from_address("203.0.113.50")
    assert sign_in(usual, "sam", PASSWORD).status_code == 302
    mark = usual.cookies[KNOWN_BROWSER_COOKIE]
    assert mark["httponly"] and mark["samesite"] == "Lax" and "sam" not in mark.value
    usual.post("/admin/logout/")

    for n in range(20):
        sign_in(from_address(f"198.51.100.{n}"), "sam", f"Guess{n}!")
    assert sign_in(from_address("192.0.2.1"), "sam", PASSWORD).status_code == 429  # a new browser waits
    made_up = from_address("192.0.2.2")
    made_up.cookies[KNOWN_BROWSER_COOKIE] = "0" * 64
    assert sign_in(made_up, "sam", PASSWORD).status_code == 429
    assert sign_in(usual, "sam", PASSWORD).status_code == 302  # at once


def test_a_browser_known_for_one_account_is_not_known_for_another(limits, sam, press_officer):
    press_officer.set_password(PASSWORD)
    press_officer.save()
    browser = from_address("203.0.113.50")
    assert sign_in(browser, "pat", PASSWORD).status_code == 302
    browser.post("/admin/logout/")
    for n in range(6):
        sign_in(from_address(f"198.51.100.{n}"), "sam", "wrong")
    assert sign_in(browser, "sam", PASSWORD).status_code == 429


def test_user_names_nobody_has_are_not_kept(limits, sam):
    for n in range(3):
        sign_in(from_address(f"198.51.100.{n}"), f"nobody{n}", "wrong")
    assert not AccountSignInFailures.objects.exists()


# -- Per address ---------------------------------------------------------------------------------


def test_password_spraying_from_one_address_is_locked_out(limits, superuser):
    sprayer = from_address("203.0.113.7")
    for n in range(4):  # one guess per user name: no account nears its limit
        assert sign_in(sprayer, f"user{n}", "Spring2010!").status_code == 200
    locked = sign_in(sprayer, "user-last", "Spring2010!")  # the address's limit
    assert locked.status_code == 429 and int(locked["Retry-After"]) == 15 * 60
    assert ADDRESS_LOCKED in locked.content.decode() and "Try again in 15 minutes." in locked.content.decode()
    # The address is locked: even a right password from it is refused for the cool-off.
    assert sign_in(sprayer, "boss", PASSWORD).status_code == 429
    # Another address is not.
    assert sign_in(from_address("203.0.113.8"), "boss", PASSWORD).status_code == 302


# -- Whose X-Forwarded-For is believed -----------------------------------------------------------


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(limits, superuser):
    limits.AXES_FAILURE_LIMIT = 3
    limits.TRUSTED_PROXIES = ["10.0.0.2"]
    for n in range(3):  # a client making up a new X-Forwarded-For entry each time gains nothing
        sprayer = from_address("10.0.0.2", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7")
        sign_in(sprayer, f"user{n}", "wrong")
    assert sign_in(sprayer, "boss", PASSWORD).status_code == 429
    # Other readers behind the same proxy are not locked out with the sprayer.
    colleague = from_address("10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert sign_in(colleague, "boss", PASSWORD).status_code == 302


def test_x_forwarded_for_from_anyone_but_a_trusted_proxy_is_not_believed(limits, superuser):
    """A client reaching the app directly cannot pick a new address for each guess."""
    limits.AXES_FAILURE_LIMIT = 3
    limits.TRUSTED_PROXIES = ["10.0.0.2"]
    for n in range(3):
        sign_in(from_address("203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"), f"user{n}", "wrong")
    made_up = from_address("203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert sign_in(made_up, "boss", PASSWORD).status_code == 429


def test_client_ip_address_believes_only_the_proxies_it_is_told_of(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.9, 203.0.113.7")
    settings.TRUSTED_PROXIES = []
    assert client_ip_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    assert client_ip_address(request) == "203.0.113.7"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]  # a network: the proxy before it is trusted too
    assert client_ip_address(request) == "203.0.113.7"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "203.0.113.0/24"]
    assert client_ip_address(request) == "1.2.3.4"
    settings.TRUSTED_PROXIES = ["10.0.0.3"]  # another proxy's address: the header is not believed
    assert client_ip_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    assert client_ip_address(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="junk")) == "10.0.0.2"
    assert client_ip_address(rf.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
    everyone_a_proxy = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.0.0.2")
    assert client_ip_address(everyone_a_proxy) == "10.0.0.2"
