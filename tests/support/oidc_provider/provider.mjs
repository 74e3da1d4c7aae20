// A real OpenID provider (panva/node-oidc-provider) for the sign-in tests, on loopback.
// Its settings come from the environment the test sets:
//   ISSUER        the issuer URL (the test's proxy in front of this server)
//   PORT          where this server listens (127.0.0.1)
//   CLIENT        JSON of the one client: client_id, client_secret, redirect_uris
//   JWKS          JSON key set with the private keys it signs ID tokens with
//   ACCOUNTS      JSON: login -> claims (email, email_verified, name, groups)
// Its development login and consent pages take any login of ACCOUNTS (no password).
import Provider from "oidc-provider";

const accounts = JSON.parse(process.env.ACCOUNTS);
const client = JSON.parse(process.env.CLIENT);

const provider = new Provider(process.env.ISSUER, {
  clients: [
    {
      ...client,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: JSON.parse(process.env.JWKS),
  cookies: { keys: ["test cookie key, loopback only"] },
  pkce: { required: () => true },
  scopes: ["openid", "email", "profile", "groups"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  // the ID token carries the claims of the scopes asked for (as Entra ID and Keycloak do)
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...accounts[id] };
      },
    };
  },
});
provider.proxy = true;
provider.on("server_error", (ctx, error) => console.log("server_error", error));
provider.listen(Number(process.env.PORT), "127.0.0.1", () => {
  console.log(`listening ${process.env.PORT}`);
});
