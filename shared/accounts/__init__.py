"""Accounts: sign-up and login with rotating refresh tokens, roles as scopes, UTM, KYC, and the
user tags that passes activate."""
