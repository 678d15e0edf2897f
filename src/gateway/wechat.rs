//! WeChat's `code2session`: a mini-program calls `wx.login()`, sends us the code, and we trade
//! it with WeChat for the user's `openid` (and `unionid` when the mini-program belongs to an
//! open-platform account). The `session_key` that comes with them is dropped here: nothing of
//! ours needs it, and it must never reach a client.

/// Where and as whom to call WeChat.
#[derive(Clone)]
pub struct WeChatSettings {
    /// `https://api.weixin.qq.com`; tests point it at a local fake.
    pub api_base: String,
    pub app_id: String,
    pub secret: String,
}

impl std::fmt::Debug for WeChatSettings {
    // Without the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeChat({}, {})", self.api_base, self.app_id)
    }
}

/// Who the code belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeChatUser {
    pub openid: String,
    pub unionid: Option<String>,
}

/// How an exchange failed, as WeChat's documented error codes group.
#[derive(Debug, PartialEq, Eq)]
pub enum WeChatError {
    /// 40029 (invalid), 40163 (used already): the client needs a fresh `wx.login()` code.
    InvalidCode,
    /// 45011: too many calls for this user; WeChat asks to wait.
    RateLimited,
    /// -1: WeChat is busy; try again.
    Busy,
    /// 40226: WeChat marked the user as high-risk and refuses them.
    Blocked,
    /// Any other code, or no usable answer (logged, never shown).
    Other(String),
}

pub struct WeChat {
    client: reqwest::Client,
    settings: WeChatSettings,
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    unionid: Option<String>,
}

impl WeChat {
    pub fn new(settings: WeChatSettings) -> WeChat {
        WeChat {
            client: super::http_client(),
            settings,
        }
    }

    /// Trades a `wx.login()` code for the user's ids.
    pub async fn code_to_session(&self, code: &str) -> Result<WeChatUser, WeChatError> {
        let url = format!(
            "{}/sns/jscode2session",
            self.settings.api_base.trim_end_matches('/')
        );
        let answer = self
            .client
            .get(url)
            .query(&[
                ("appid", self.settings.app_id.as_str()),
                ("secret", self.settings.secret.as_str()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            // Without the URL: it carries the app secret.
            .map_err(|e| WeChatError::Other(e.without_url().to_string()))?;
        let body = answer
            .bytes()
            .await
            .map_err(|e| WeChatError::Other(e.without_url().to_string()))?;
        // WeChat answers JSON with a `text/plain` content type, errors included, with HTTP 200.
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|_| WeChatError::Other("an answer that is not WeChat's JSON".into()))?;
        match (answer.errcode, answer.openid) {
            (0, Some(openid)) if !openid.is_empty() => Ok(WeChatUser {
                openid,
                unionid: answer.unionid.filter(|u| !u.is_empty()),
            }),
            (40029 | 40163, _) => Err(WeChatError::InvalidCode),
            (45011, _) => Err(WeChatError::RateLimited),
            (-1, _) => Err(WeChatError::Busy),
            (40226, _) => Err(WeChatError::Blocked),
            (code, _) => Err(WeChatError::Other(format!(
                "errcode {code}: {}",
                answer.errmsg
            ))),
        }
    }
}
