"""Shared by the credit tests: valid resident ID numbers and the GraphQL documents."""

import uuid


def resident_id(first17: str) -> str:
    """The check character by the ISO 7064 MOD 11-2 recursion (not the weighted sum the code uses)."""
    p = 0
    for c in first17:
        p = ((p + int(c)) * 2) % 11
    check = (12 - p) % 11
    return first17 + ("X" if check == 10 else str(check))


def new_id(born: str = "19960520") -> str:
    """A valid ID number of someone born on `born` (YYYYMMDD), different each call."""
    return resident_id(f"110105{born}{uuid.uuid4().int % 1000:03d}")


LINE_FIELDS = "buyerId tier limit available outstandingPrincipal frozen dueDay"
APPLICATION_FIELDS = "id status tier limit score reason rules { rule points } idNumber monthlyIncome"
APPLY = f"""mutation($i: ApplyForCreditInput!) {{ applyForCredit(input: $i) {{
  application {{ {APPLICATION_FIELDS} }} creditLine {{ {LINE_FIELDS} }} userErrors {{ field code message }} }} }}"""
MY_LINE = f"query {{ myCreditLine {{ {LINE_FIELDS} limitChanges {{ fromLimit toLimit reason actor }} }} }}"
CHANGE_LIMIT = f"""mutation($i: ChangeCreditLimitInput!) {{ changeCreditLimit(input: $i) {{
  creditLine {{ {LINE_FIELDS} }} userErrors {{ field code message }} }} }}"""
