"""Accounts: the user document, its UTM, KYC and tags, and the auth API's requests and views.

Documents: `users/{user_id}` (a User), `user_emails/{email_key}` (the lower-cased email's owner:
created in the sign-up transaction, so two sign-ups of one address cannot both commit).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

ROLES = ("creator", "admin")  # each becomes the scope `role:{name}` in the user's access tokens
KYC_COUNTRIES = ("tw",)  # Taiwan's rules: users from there are verified before they may earn

Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254,
                                         pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Annotated[str, Field(min_length=10, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Country = Annotated[str, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
                    Field(pattern=r"^[a-z]{2}$", description="ISO 3166-1 alpha-2, any case")]
UtmValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Role = Literal["creator", "admin"]


def email_key(email: str) -> str:
    """What makes two addresses the same account: case does not."""
    return email.strip().lower()


class UtmInformation(BaseModel):
    """Where a user came from (seed 004: `user.utm.initial` / `user.utm.current`)."""

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None

    def any(self) -> bool:
        return any(self.model_dump().values())


class Utm(BaseModel):
    initial: UtmInformation | None = None  # set once, at sign-up
    current: UtmInformation | None = None  # the latest sign-up or login that carried any


class KycSubmission(BaseModel):
    legal_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
    document_type: Literal["national_id", "passport", "residence_permit"]
    document_number: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{6,20}$")]
    birth_date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class Kyc(BaseModel):
    """`none` until submitted; `pending` awaits an admin; `verified` or `rejected` (who may resubmit)."""

    status: Literal["none", "pending", "verified", "rejected"] = "none"
    legal_name: str | None = None
    document_type: str | None = None
    document_last4: str | None = None  # the number itself is kept out of the user document
    birth_date: str | None = None
    submitted_at: float | None = None
    decided_at: float | None = None
    decided_by: str | None = None
    reason: str | None = None


class TagWindow(BaseModel):
    """An activated tag such as a livestream pass (seed 004: `user.tagsv2.livestream_pass`)."""

    nbf: float
    exp: float


class User(BaseModel):
    id: str
    email: str
    email_key: str
    password_hash: str
    display_name: str
    country: str
    roles: list[Role] = Field(default_factory=list)
    utm: Utm = Field(default_factory=Utm)
    kyc: Kyc = Field(default_factory=Kyc)
    tagsv2: dict[str, TagWindow] = Field(default_factory=dict)
    created_at: float

    @property
    def scopes(self) -> list[str]:
        return [f"role:{role}" for role in self.roles]

    @property
    def kyc_required(self) -> bool:
        return self.country in KYC_COUNTRIES

    @property
    def may_earn(self) -> bool:
        return not self.kyc_required or self.kyc.status == "verified"


class Me(BaseModel):
    """A user as they see themselves (never the password hash)."""

    id: str
    email: str
    display_name: str
    country: str
    roles: list[str]
    utm: Utm
    kyc: Kyc
    kyc_required: bool
    may_earn: bool
    tagsv2: dict[str, TagWindow]
    created_at: float

    @classmethod
    def of(cls, user: User) -> Me:
        return cls(**user.model_dump(exclude={"password_hash", "email_key"}), kyc_required=user.kyc_required,
                   may_earn=user.may_earn)


class Utms(BaseModel):
    """Optional `utm_*` fields of a sign-up or login."""

    utm_source: UtmValue | None = None
    utm_medium: UtmValue | None = None
    utm_campaign: UtmValue | None = None
    utm_term: UtmValue | None = None
    utm_content: UtmValue | None = None

    def utm(self) -> UtmInformation:
        return UtmInformation(source=self.utm_source, medium=self.utm_medium, campaign=self.utm_campaign,
                              term=self.utm_term, content=self.utm_content)


class Signup(Utms):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Password
    display_name: DisplayName
    country: Country

    @field_validator("password")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a password cannot be only spaces")
        return value


class Login(Utms):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=20, max_length=200)]


class Tokens(BaseModel):
    """What sign-up, login and refresh answer (RFC 6749's token response fields)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    scope: str
    user: Me


class LoggedOut(BaseModel):
    revoked: bool


class KycDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class RoleChange(BaseModel):
    user_id: str
    roles: list[str]
