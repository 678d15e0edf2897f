//! Delivering a code by SMS. Two gateways: [`LogGateway`] writes the code to the log (for
//! development; the server refuses it in production) and [`HttpGateway`] posts it to a
//! provider with the shape of 云片 (Yunpian)'s `single_send` API, which many providers in
//! mainland China copy: a form with `apikey`, `mobile` and `text`, answered by JSON whose
//! `code` is 0 on success.

use async_trait::async_trait;

/// Why a message was not delivered; logged, never shown.
#[derive(Debug)]
pub enum SmsError {
    /// The provider answered and refused (its code and message).
    Refused { code: i64, message: String },
    /// The provider could not be reached, or answered with something else than its JSON.
    Unreachable(String),
}

impl std::fmt::Display for SmsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmsError::Refused { code, message } => write!(f, "refused ({code}): {message}"),
            SmsError::Unreachable(why) => write!(f, "unreachable: {why}"),
        }
    }
}

/// Sends a code to a mainland mobile number.
#[async_trait]
pub trait SmsGateway: Send + Sync {
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), SmsError>;
}

/// The message a person receives: `template` with `{code}` replaced.
pub fn message(template: &str, code: &str) -> String {
    template.replace("{code}", code)
}

/// The default message; providers require their approved template, signature (【…】) first.
pub const DEFAULT_TEMPLATE: &str =
    "【商居同盟】您的验证码是{code}，5分钟内有效。如非本人操作，请忽略本短信。";

/// Which gateway delivers codes.
#[derive(Clone)]
pub enum SmsSettings {
    /// No SMS: sending a code answers `UNAVAILABLE` (production without a provider).
    Off,
    /// [`LogGateway`] (development only).
    Log,
    /// [`HttpGateway`].
    Http {
        url: String,
        api_key: String,
        template: String,
    },
}

impl std::fmt::Debug for SmsSettings {
    // Without the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmsSettings::Off => f.write_str("Off"),
            SmsSettings::Log => f.write_str("Log"),
            SmsSettings::Http { url, .. } => write!(f, "Http({url})"),
        }
    }
}

impl SmsSettings {
    pub fn is_off(&self) -> bool {
        matches!(self, SmsSettings::Off)
    }

    pub fn gateway(&self) -> Option<std::sync::Arc<dyn SmsGateway>> {
        match self {
            SmsSettings::Off => None,
            SmsSettings::Log => Some(std::sync::Arc::new(LogGateway)),
            SmsSettings::Http {
                url,
                api_key,
                template,
            } => Some(std::sync::Arc::new(HttpGateway::new(
                url.clone(),
                api_key.clone(),
                template.clone(),
            ))),
        }
    }
}

/// Writes codes to the log instead of sending them (development only).
pub struct LogGateway;

#[async_trait]
impl SmsGateway for LogGateway {
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), SmsError> {
        // The number's last four digits: enough to tell one's test phones apart.
        let tail = phone.get(phone.len().saturating_sub(4)..).unwrap_or("");
        tracing::info!(
            phone_ending = tail,
            code,
            "SMS code (development: written to the log, not sent)"
        );
        Ok(())
    }
}

/// Posts codes to an SMS provider's HTTP API.
pub struct HttpGateway {
    client: reqwest::Client,
    url: String,
    api_key: String,
    template: String,
}

impl HttpGateway {
    pub fn new(url: String, api_key: String, template: String) -> HttpGateway {
        HttpGateway {
            client: super::http_client(),
            url,
            api_key,
            template,
        }
    }
}

#[derive(serde::Deserialize)]
struct ProviderAnswer {
    code: i64,
    #[serde(default)]
    msg: String,
}

#[async_trait]
impl SmsGateway for HttpGateway {
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), SmsError> {
        let text = message(&self.template, code);
        let form = [
            ("apikey", self.api_key.as_str()),
            ("mobile", phone),
            ("text", text.as_str()),
        ];
        let answer = self
            .client
            .post(&self.url)
            .header("accept", "application/json;charset=utf-8")
            .form(&form)
            .send()
            .await
            .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
        // The provider answers refusals with its JSON and a 4xx status; anything else is not it.
        let parsed: ProviderAnswer = serde_json::from_slice(&body).map_err(|_| {
            SmsError::Unreachable(format!("HTTP {status} without the provider's JSON"))
        })?;
        if parsed.code == 0 {
            Ok(())
        } else {
            Err(SmsError::Refused {
                code: parsed.code,
                message: parsed.msg,
            })
        }
    }
}
