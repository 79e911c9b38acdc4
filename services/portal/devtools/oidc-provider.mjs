// A development OpenID Connect provider for the portal's production sign-in path:
// node-oidc-provider (an OpenID Certified implementation, npm `oidc-provider`) with its
// development login screen (any password), the accounts given in OIDC_ACCOUNTS and one
// confidential client (authorization code + PKCE). The browser test signs in through it;
// an IT team can use it to try PORTAL_OIDC_* before their own identity provider is wired.
//
//   OIDC_PORT=9400 OIDC_CLIENT_ID=bianmin-portal OIDC_CLIENT_SECRET=... \
//   OIDC_REDIRECT_URI=http://127.0.0.1:8005/signin/oidc/callback \
//   OIDC_ACCOUNTS='{"wang.officer": {"name": "王科员", "role": "officer", "org_id": "ruian", "tier": "city"}}' \
//   node services/portal/devtools/oidc-provider.mjs
//
// The portal then gets PORTAL_OIDC_METADATA_URL=http://127.0.0.1:9400/.well-known/openid-configuration,
// PORTAL_OIDC_SCOPE="openid bianmin", PORTAL_OIDC_TOKEN=id_token; the services verify that
// token with AUTH_JWKS_URL=http://127.0.0.1:9400/jwks, AUTH_ISSUER=http://127.0.0.1:9400 and
// AUTH_AUDIENCE=<client id>.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import Provider from "oidc-provider";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return v;
};

const port = Number(env("OIDC_PORT"));
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(env("OIDC_ACCOUNTS"));
const signing = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
  format: "jwk",
});

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env("OIDC_CLIENT_ID"),
      client_secret: env("OIDC_CLIENT_SECRET"),
      redirect_uris: [env("OIDC_REDIRECT_URI")],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  jwks: { keys: [{ ...signing, kid: "dev-1", alg: "RS256", use: "sig" }] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  pkce: { required: () => true },
  scopes: ["openid", "bianmin"],
  claims: { openid: ["sub"], bianmin: ["name", "role", "org_id", "tier"] },
  // the claims go in the ID token itself (the portal and the services read them there)
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60 },
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
