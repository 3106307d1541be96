// A real OpenID Connect provider for the single sign-on journeys: `oidc-provider` (a certified implementation
// from the npm registry) on a loopback port, with its development sign-in pages (any login; the password is not
// checked), one confidential client for Tessera, and an RS256 key of its own.
//
// Environment: OIDC_PORT (the port), OIDC_REDIRECT_URIS (JSON list of Tessera callbacks), OIDC_GROUPS (JSON: login -> groups,
// the `groups` claim). Prints "provider listening" once it serves.
//
// For the wrong-audience journey, `GET /__journey/mode?wrong_audience=1` makes the token endpoint answer with an
// ID token signed by the provider's own key but issued to another client (the token a provider gives a different
// application); `?wrong_audience=0` turns that off.
import Provider from "oidc-provider";
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from "jose";

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const groups = JSON.parse(process.env.OIDC_GROUPS ?? "{}");
const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: "journey-key", alg: "RS256", use: "sig" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "tessera",
      client_secret: "journey-client-secret",
      redirect_uris: JSON.parse(process.env.OIDC_REDIRECT_URIS ?? "[]"),
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  jwks: { keys: [jwk] },
  claims: { openid: ["sub"], profile: ["preferred_username", "groups"] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, groups: groups[id] ?? [] };
      },
    };
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
});

const mode = { wrongAudience: false };
provider.use(async (ctx, next) => {
  if (ctx.path === "/__journey/mode") {
    mode.wrongAudience = ctx.query.wrong_audience === "1";
    ctx.body = "ok";
    return;
  }
  await next();
  if (ctx.path === "/token" && mode.wrongAudience && ctx.body && ctx.body.id_token) {
    const claims = decodeJwt(ctx.body.id_token);
    ctx.body.id_token = await new SignJWT({ ...claims, aud: "another-application" })
      .setProtectedHeader({ alg: "RS256", kid: jwk.kid })
      .sign(privateKey);
  }
});

provider.listen(port, "127.0.0.1", () => console.log("provider listening"));
