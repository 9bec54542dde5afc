def test_healthz_answers_without_touching_dependencies(client):
    # Given a running process, when the liveness probe is asked
    response = client.get("/healthz")
    # then it answers ok
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency(client, db, settings):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["checks"]["database"]["status"] == "ok"
    expected_redis = "ok" if settings.REDIS_URL else "not_configured"
    assert body["checks"]["redis"]["status"] == expected_redis


def test_readyz_fails_when_redis_is_unreachable(client, db, settings):
    # Given a Redis address where nothing listens
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    # when readiness is checked
    response = client.get("/readyz")
    # then the probe says not ready, naming Redis
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "error"
