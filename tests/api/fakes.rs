//! Local fakes of the services outside ours, each a small HTTP server on 127.0.0.1 that a test
//! starts: an SMS provider with the shape of 云片's `single_send`, and WeChat's
//! `jscode2session`. The server under test talks to them through its real HTTP gateways.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const SMS_PATH: &str = "/v2/sms/single_send.json";
pub const SMS_API_KEY: &str = "test-sms-key";
pub const WECHAT_APP_ID: &str = "wx0123456789abcdef";
pub const WECHAT_SECRET: &str = "test-wechat-secret";

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// What the SMS provider answers next.
#[derive(Clone, Debug)]
pub enum SmsAnswer {
    Accept,
    /// The provider's JSON refusal, with HTTP 400 as 云片 sends it.
    Refuse(i64, &'static str),
    /// A proxy's HTML error page.
    Broken,
}

#[derive(Clone)]
pub struct FakeSms {
    pub url: String,
    /// Every form posted, accepted or not.
    pub received: Arc<Mutex<Vec<HashMap<String, String>>>>,
    answer: Arc<Mutex<SmsAnswer>>,
}

impl FakeSms {
    pub async fn start() -> FakeSms {
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(SmsAnswer::Accept));
        type Shared = (
            Arc<Mutex<Vec<HashMap<String, String>>>>,
            Arc<Mutex<SmsAnswer>>,
        );
        async fn send(
            State((received, answer)): State<Shared>,
            Form(form): Form<HashMap<String, String>>,
        ) -> Response {
            received.lock().unwrap().push(form.clone());
            if form.get("apikey").map(String::as_str) != Some(SMS_API_KEY) {
                let body = json!({ "code": -1, "msg": "非法的apikey" });
                return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
            }
            match answer.lock().unwrap().clone() {
                SmsAnswer::Accept => axum::Json(json!({
                    "code": 0, "msg": "发送成功", "count": 1, "fee": 0.05, "unit": "RMB",
                    "mobile": form.get("mobile"), "sid": 3310228982u64,
                }))
                .into_response(),
                SmsAnswer::Refuse(code, msg) => (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "code": code, "msg": msg })),
                )
                    .into_response(),
                SmsAnswer::Broken => {
                    (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response()
                }
            }
        }
        let router = Router::new()
            .route(SMS_PATH, post(send))
            .with_state((received.clone(), answer.clone()));
        let base = serve(router).await;
        FakeSms {
            url: format!("{base}{SMS_PATH}"),
            received,
            answer,
        }
    }

    pub fn answer(&self, answer: SmsAnswer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// Messages posted to `phone`, oldest first.
    pub fn texts_to(&self, phone: &str) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|f| f.get("mobile").map(String::as_str) == Some(phone))
            .filter_map(|f| f.get("text").cloned())
            .collect()
    }

    /// The code of the last message to `phone`.
    pub fn last_code(&self, phone: &str) -> String {
        let texts = self.texts_to(phone);
        let text = texts.last().unwrap_or_else(|| panic!("no SMS to {phone}"));
        let digits: String = text
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        assert_eq!(digits.len(), 6, "{text}");
        digits
    }
}

/// WeChat's `jscode2session`: codes map to answers; an unknown code is WeChat's 40029.
#[derive(Clone)]
pub struct FakeWeChat {
    pub base: String,
    answers: Arc<Mutex<HashMap<String, Value>>>,
    /// The query of every call.
    pub calls: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl FakeWeChat {
    pub async fn start() -> FakeWeChat {
        let answers: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let calls: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
        type Shared = (
            Arc<Mutex<HashMap<String, Value>>>,
            Arc<Mutex<Vec<HashMap<String, String>>>>,
        );
        async fn code2session(
            State((answers, calls)): State<Shared>,
            Query(q): Query<HashMap<String, String>>,
        ) -> Response {
            calls.lock().unwrap().push(q.clone());
            let credentials = q.get("appid").map(String::as_str) == Some(WECHAT_APP_ID)
                && q.get("secret").map(String::as_str) == Some(WECHAT_SECRET)
                && q.get("grant_type").map(String::as_str) == Some("authorization_code");
            let body = if !credentials {
                json!({ "errcode": 40125, "errmsg": "invalid appsecret" })
            } else {
                let code = q.get("js_code").cloned().unwrap_or_default();
                answers.lock().unwrap().remove(&code).unwrap_or_else(
                    || json!({ "errcode": 40029, "errmsg": "invalid code, rid: 6592" }),
                )
            };
            // WeChat's content type, whatever the answer.
            ([("content-type", "text/plain")], body.to_string()).into_response()
        }
        let router = Router::new()
            .route("/sns/jscode2session", get(code2session))
            .with_state((answers.clone(), calls.clone()));
        FakeWeChat {
            base: serve(router).await,
            answers,
            calls,
        }
    }

    /// `code` will be answered once with `answer` (codes are single use at WeChat too).
    pub fn answer(&self, code: &str, answer: Value) {
        self.answers.lock().unwrap().insert(code.to_owned(), answer);
    }

    /// `code` will sign in the WeChat user `openid`.
    pub fn user(&self, code: &str, openid: &str, unionid: Option<&str>) {
        let mut a = json!({ "openid": openid, "session_key": format!("sk-{openid}") });
        if let Some(u) = unionid {
            a["unionid"] = json!(u);
        }
        self.answer(code, a);
    }
}
